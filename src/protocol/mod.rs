//! The SMTP wire protocol: reply parsing, command-line construction, EHLO features, endpoints,
//! and the connection strings (URLs) that name a server.

mod command;
mod endpoint;
mod features;
mod params;
mod reply;
mod url;

pub use command::{
    check_address, check_envelope, check_esmtp_param, check_hello_name, check_line_safe, command_line,
    quote_forward_path, quote_reverse_path, LineAllowance, LINE_ALLOWANCES, MAX_COMMAND_LINE,
};
pub use endpoint::Endpoint;
pub use features::Features;
pub use params::{
    orcpt_value, xtext, xtext_decode, Dsn, DsnPolicy, DsnRet, Notify, RecipientDsn, TransactionParams, MAX_ENVID,
    MAX_ORCPT,
};
pub use reply::{EnhancedStatus, Reply, ReplyParser, MAX_LINE, MAX_LINES, MAX_REPLY_BYTES};
pub use url::{parse_server_url, ServerUrl, UrlCredentials, UrlEndpoint, UrlScheme, UrlTls};
