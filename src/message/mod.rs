//! The message itself: DATA / BDAT body encoding (line ends, dot-stuffing) and the envelope
//! smtplib's `send_message` derives from a message's headers.

mod data;
mod headers;

pub use data::{normalized_len, DataEncoder};
pub use headers::{
    complete_envelope, envelope_from_headers, needs_smtputf8, parse_address_list, strip_bcc, strip_mbox_from_line,
    HeaderEnvelope,
};
