//! The sans-I/O protocol engine (see docs/engine.md): the SMTP / LMTP conversation as a state
//! machine that never touches a socket, a clock or a thread. It is fed the bytes the server
//! sent, asked for the bytes to send, and says by when it next needs to be woken; drivers
//! (the blocking `Session` today) move the bytes.

mod conversation;

pub use conversation::Conversation;
