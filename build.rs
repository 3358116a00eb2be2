//! Build script: gives the shared library (cdylib) its ELF SONAME.
//!
//! The SONAME carries the ABI version, not the full package version:
//! - from 1.0 on it is the major version (`libsmtpclient.so.1`), bumped only on an ABI break;
//! - before 1.0 it is `0.<minor>` (`libsmtpclient.so.0.1`), because a 0.x minor release may
//!   break the ABI while a 0.x.y patch release may not.
//!
//! The Makefile computes the same value for the install symlinks, and
//! `tests/abi/check-symbols.sh` checks the built library with `readelf -d`.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    // `-soname` is an ELF linker option; only Linux is built and tested. The arg applies to the
    // cdylib alone (not to the staticlib, rlib, tests or examples).
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }

    let major: u64 = env::var("CARGO_PKG_VERSION_MAJOR")
        .expect("CARGO_PKG_VERSION_MAJOR is set by cargo")
        .parse()
        .expect("CARGO_PKG_VERSION_MAJOR is a number");
    let minor: u64 = env::var("CARGO_PKG_VERSION_MINOR")
        .expect("CARGO_PKG_VERSION_MINOR is set by cargo")
        .parse()
        .expect("CARGO_PKG_VERSION_MINOR is a number");

    let abi = if major >= 1 {
        major.to_string()
    } else {
        // Pre-1.0: every minor release may break the ABI, so the minor is part of the SONAME.
        format!("0.{minor}")
    };

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsmtpclient.so.{abi}");
}
