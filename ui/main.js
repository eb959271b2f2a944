// Entry point of the placeholder page: fills in the text (textContent only, never HTML).

const TITLE = "Parley";
const NOTICE = "The inbox opens here in the next release; use parley-cli meanwhile.";

function render() {
  document.getElementById("title").textContent = TITLE;
  document.getElementById("notice").textContent = NOTICE;
}

render();
