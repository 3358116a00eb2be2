# frozen_string_literal: true

# libsmtpclient for Ruby: SMTP, SMTPS and LMTP sessions over the C library (through ffi).
# See SmtpClient::Session for the rules (ownership, threads, callbacks) and SmtpClient::SmtpError
# for the exception hierarchy.
require_relative 'smtpclient/version'
require_relative 'smtpclient/native'
require_relative 'smtpclient/errors'
require_relative 'smtpclient/session'

module SmtpClient
  # The library's version string, e.g. "0.2.0".
  def self.library_version = Native.smtp_lib_version

  # The library's version number (major * 10000 + minor * 100 + patch).
  def self.library_version_number = Native.smtp_lib_version_number

  # The one check of a string argument before it reaches C, which would read it only up to its
  # first NUL byte: such a string is refused rather than silently cut short. The message names
  # the argument, never its value (it may be a password). Anything but a String is left to
  # ffi's own type check.
  def self.c_string(argument, value)
    offset = value.b.index("\0") if value.is_a?(String)
    return value if offset.nil?

    raise ArgumentError, "#{argument} contains a NUL byte at offset #{offset} (the C API would truncate it there)"
  end
end
