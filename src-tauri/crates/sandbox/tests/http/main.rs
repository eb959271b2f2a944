//! HTTP tests of the sandbox: real requests with reqwest against a sandbox started in-process.

mod api;
mod clock;
mod data;
mod harness;
mod links;
mod p2;
mod process;
mod switches;
mod voipbin;
