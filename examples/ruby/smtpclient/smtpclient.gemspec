# frozen_string_literal: true

require_relative 'lib/smtpclient/version'

Gem::Specification.new do |spec|
  spec.name = 'smtpclient'
  spec.version = SmtpClient::VERSION
  spec.summary = 'SMTP, SMTPS and LMTP client: Ruby binding of libsmtpclient'
  spec.description = 'Sessions, TLS settings, AUTH through blocks, per-recipient results and an ' \
                     'exception hierarchy mirroring the C library libsmtpclient (0.2.x, ' \
                     'libsmtpclient.so.0.2), loaded with ffi.'
  spec.authors = ['libsmtpclient authors']
  spec.license = 'MIT OR Apache-2.0'
  spec.required_ruby_version = '>= 3.0'
  spec.files = Dir['lib/**/*.rb'] + ['README.md']
  spec.require_paths = ['lib']
  spec.requirements = ['libsmtpclient.so.0.2 (the libsmtpclient0.2 package, or LD_LIBRARY_PATH)']
  spec.add_dependency 'ffi', '~> 1.15'
end
