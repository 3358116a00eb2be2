//! The C API: every `extern "C"` item of the library lives in this module and nowhere else.
//!
//! Each export is a thin wrapper: it converts C arguments, calls the pure-Rust core, and goes
//! through one of the guards in `guard` (panic boundary, NULL and handle checks, re-entrancy,
//! last-error bookkeeping). A test checks that every export does.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod args;
pub mod auth;
mod guard;
mod handle;
pub mod nonblocking;
pub mod options;
pub mod result;
pub mod sender;
pub mod session;
mod state;
pub mod tls;
mod unwind;
pub mod version;
mod view;

pub use guard::smtp_client;
