//! okta-emulator
