# frozen_string_literal: true

module SmtpClient
  VERSION = '0.2.0'
  # The ABI this gem was written for: libsmtpclient 0.2.x (smtp_lib_version_number 200..299).
  ABI_VERSION_NUMBER = 200
end
