//! Pact p2 client (being written).
