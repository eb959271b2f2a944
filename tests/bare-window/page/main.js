// Draws a few rows, then marks the frame that shows them, the way Parley's inbox marks its first paint.
const rows = document.getElementById("rows");
for (let n = 1; n <= 20; n += 1) {
  const row = document.createElement("li");
  row.textContent = `Row ${n}`;
  rows.append(row);
}
requestAnimationFrame(() => performance.mark("inbox-painted"));
