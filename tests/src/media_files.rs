//! Real media files for the window tests, made at run time with GStreamer's `gst-launch-1.0`
//! (Debian 12: gstreamer1.0-tools, -plugins-base, -plugins-good, -plugins-ugly; deps.sh installs
//! them): an ogg/opus voice note, an mp3 and an h264/AAC mp4, each a tone (and a test picture) of
//! a given length, as [`SampleFile`]s the sandbox can serve.

use std::process::{Command, Stdio};

use parley_sandbox::SampleFile;

/// Which Debian package has each GStreamer element the pipelines below use.
const PACKAGES: &[(&str, &str)] = &[
    ("audiotestsrc", "gstreamer1.0-plugins-base"),
    ("videotestsrc", "gstreamer1.0-plugins-base"),
    ("audioconvert", "gstreamer1.0-plugins-base"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("opusenc", "gstreamer1.0-plugins-base"),
    ("oggmux", "gstreamer1.0-plugins-base"),
    ("lamemp3enc", "gstreamer1.0-plugins-good"),
    ("mp4mux", "gstreamer1.0-plugins-good"),
    ("x264enc", "gstreamer1.0-plugins-ugly"),
    ("avenc_aac", "gstreamer1.0-libav"),
    ("filesink", "gstreamer1.0-tools"),
];

/// A voice note as phones send it: `seconds` of a tone, Opus in Ogg, mono 48 kHz (`audio/ogg`).
pub fn voice_note_ogg(file_name: &str, seconds: u32) -> SampleFile {
    // 20 ms buffers of 960 samples at 48 kHz.
    let buffers = (seconds * 50).to_string();
    let bytes = gst_launch(
        file_name,
        &[
            "audiotestsrc",
            &format!("num-buffers={buffers}"),
            "samplesperbuffer=960",
            "!",
            "audio/x-raw,rate=48000,channels=1",
            "!",
            "audioconvert",
            "!",
            "opusenc",
            "!",
            "oggmux",
        ],
    );
    sample(file_name, "audio/ogg", bytes)
}

/// A song: `seconds` of a tone as a 64 kbit/s constant-bitrate MP3, mono 44.1 kHz (`audio/mpeg`).
pub fn song_mp3(file_name: &str, seconds: u32) -> SampleFile {
    // 20 ms buffers of 882 samples at 44.1 kHz.
    let buffers = (seconds * 50).to_string();
    let bytes = gst_launch(
        file_name,
        &[
            "audiotestsrc",
            "wave=sine",
            "freq=660",
            &format!("num-buffers={buffers}"),
            "samplesperbuffer=882",
            "!",
            "audio/x-raw,rate=44100,channels=1",
            "!",
            "audioconvert",
            "!",
            "lamemp3enc",
            "target=bitrate",
            "bitrate=64",
            "cbr=true",
        ],
    );
    sample(file_name, "audio/mpeg", bytes)
}

/// A phone-style clip: `seconds` of a 320×240, 25 fps test picture in H.264 with an AAC tone, in
/// MP4 (`video/mp4`).
pub fn clip_mp4(file_name: &str, seconds: u32) -> SampleFile {
    let frames = (seconds * 25).to_string();
    // 1024-sample AAC frames at 48 kHz: enough of them to cover the picture.
    let audio_buffers = (seconds * 48_000).div_ceil(1024).to_string();
    let bytes = gst_launch(
        file_name,
        &[
            "videotestsrc",
            "pattern=ball",
            &format!("num-buffers={frames}"),
            "!",
            "video/x-raw,width=320,height=240,framerate=25/1",
            "!",
            "videoconvert",
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "bitrate=256",
            "!",
            "mp4mux",
            "name=mux",
            "audiotestsrc",
            &format!("num-buffers={audio_buffers}"),
            "samplesperbuffer=1024",
            "!",
            "audio/x-raw,rate=48000,channels=1",
            "!",
            "audioconvert",
            "!",
            "avenc_aac",
            "!",
            "mux.",
        ],
    );
    sample(file_name, "video/mp4", bytes)
}

fn sample(file_name: &str, mime_type: &'static str, bytes: Vec<u8>) -> SampleFile {
    SampleFile {
        file_name: file_name.to_owned(),
        mime_type,
        bytes: bytes.into(),
    }
}

/// Runs `gst-launch-1.0 -e PIPELINE ! filesink` into a temp file and returns what it wrote; panics
/// naming the GStreamer element (and its Debian package) that is missing when it fails.
fn gst_launch(what: &str, pipeline: &[&str]) -> Vec<u8> {
    let folder = tempfile::tempdir().expect("a temp dir for the media file");
    let output = folder.path().join("out");
    let location = format!("location={}", output.display());
    // The filesink ends the first branch; for the mp4, the muxer's `mux.` branch comes after it.
    let (first, rest) = match pipeline.iter().position(|part| *part == "name=mux") {
        Some(at) => pipeline.split_at(at + 1),
        None => (pipeline, &[][..]),
    };
    let mut args = vec!["-q", "-e"];
    args.extend_from_slice(first);
    args.extend_from_slice(&["!", "filesink", &location]);
    args.extend_from_slice(rest);
    let run = Command::new("gst-launch-1.0")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run gst-launch-1.0 to make {what:?}: {error}; install gstreamer1.0-tools \
                 (bash src-tauri/scripts/deps.sh)"
            )
        });
    let written = std::fs::read(&output).unwrap_or_default();
    if run.status.success() && !written.is_empty() {
        return written;
    }
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let missing: Vec<String> = elements(&args)
        .filter(|element| !element_exists(element))
        .map(|element| {
            let package = PACKAGES
                .iter()
                .find(|(name, _)| *name == element)
                .map_or("a GStreamer plugins package", |(_, package)| package);
            format!("`{element}` (Debian package {package})")
        })
        .collect();
    if missing.is_empty() {
        panic!(
            "gst-launch-1.0 could not make {what:?} ({}); it said:\n{said}",
            run.status
        );
    }
    panic!(
        "gst-launch-1.0 could not make {what:?}: GStreamer element {} missing; install it \
         (bash src-tauri/scripts/deps.sh). gst-launch-1.0 said:\n{said}",
        missing.join(", ")
    );
}

/// The element names of a gst-launch pipeline (no caps, properties, `!` or pad references).
fn elements<'a>(args: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    args.iter().copied().filter(|part| {
        !part.starts_with('-')
            && !part.contains(['=', '/', '!', '.'])
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether `gst-inspect-1.0` knows the element.
fn element_exists(element: &str) -> bool {
    Command::new("gst-inspect-1.0")
        .arg(element)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_is_made_with_its_type() {
        let ogg = voice_note_ogg("voice message.ogg", 1);
        assert!(ogg.bytes.starts_with(b"OggS"), "an Ogg stream");
        assert!(
            ogg.bytes.windows(8).any(|w| w == b"OpusHead"),
            "Opus inside"
        );
        let mp3 = song_mp3("song.mp3", 1);
        assert!(
            mp3.bytes.starts_with(&[0xff]) || mp3.bytes.starts_with(b"ID3"),
            "an MPEG audio stream"
        );
        let mp4 = clip_mp4("clip.mp4", 1);
        assert_eq!(&mp4.bytes[4..8], b"ftyp", "an MP4 file");
        assert!(mp4.bytes.windows(4).any(|w| w == b"avcC"), "H.264 inside");
    }

    #[test]
    #[should_panic(expected = "GStreamer element `no_such_encoder` (Debian package a GStreamer")]
    fn a_missing_element_is_named() {
        gst_launch(
            "broken.ogg",
            &["audiotestsrc", "num-buffers=1", "!", "no_such_encoder"],
        );
    }
}
