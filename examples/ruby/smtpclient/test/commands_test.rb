# frozen_string_literal: true

require_relative 'test_helper'

# smtplib's low-level commands, the capabilities, and the settings beyond TLS, against Postfix.
class CommandsTest < Minitest::Test
  include TestBedHelpers

  # A transaction command by command: each Reply whatever its code; the message delivered.
  def test_low_level_transaction
    smtp = logged_in
    assert_equal 250, smtp.mail('alice@example.test', ['BODY=8BITMIME']).code
    assert_equal 250, smtp.rcpt('bob@example.test').code
    refused = smtp.rcpt('reject550@example.test')
    assert_equal 550, refused.code
    assert_includes refused.text, '5.1.1'
    marker = unique_marker
    assert_equal 250, smtp.data(mail_text(marker)).code
    assert_equal [true, false], smtp.recipients.map(&:accepted?)
    assert_delivered TestBed::POSTFIX_MAILDIR, marker
    assert_equal 250, smtp.rset.code
    assert_equal 250, smtp.docmd('NOOP').code
    assert_equal 5, smtp.docmd('XNOSUCH', 'arg').code / 100
    assert_raises(SmtpClient::UsageError) { smtp.docmd('NOOP', "a\r\nQUIT") }
    # Postfix: VRFY 252 for a known user, 550 for an unknown one; EXPN and HELP unknown (500).
    assert_equal 252, smtp.verify('Bob <bob@example.test>').code
    assert_equal 550, smtp.verify('nobody@example.test').code
    assert_equal 500, smtp.expn('bob@example.test').code
    assert_equal 500, smtp.help.code
  end

  # EHLO / HELO by hand, the capabilities, disconnect and a new connection.
  def test_greeting_and_features
    smtp = new_session
    smtp.connect(TestBed::HOST, TestBed::PORT)
    assert_nil smtp.ehlo_resp
    assert_equal 250, smtp.ehlo('client.example.test').code
    assert smtp.esmtp?
    assert_includes smtp.ehlo_resp, 'PIPELINING'
    assert_equal '10485760', smtp.feature('SIZE')
    assert_nil smtp.feature('XNOSUCH')
    assert smtp.has_extn?('starttls')
    refute smtp.has_extn?('XNOSUCH')
    assert_includes smtp.features.fetch('auth'), 'PLAIN'
    assert_equal 250, smtp.helo.code
    refute_empty smtp.helo_resp
    smtp.ehlo_or_helo_if_needed
    smtp.disconnect
    refute smtp.connected?
    smtp.connect(TestBed::HOST, TestBed::PORT)
    assert smtp.connected?
  end

  # Source address, no pipelining or chunking, smtplib's login order (seen in the trace).
  def test_settings
    smtp = new_session(tls: { ca_file: TestBed::CA_FILE })
    smtp.set_source_address('127.0.0.1')
    smtp.pipelining = false
    smtp.chunking = false
    smtp.login_mechanisms = %w[CRAM-MD5 PLAIN LOGIN]
    assert_raises(SmtpClient::UsageError) { smtp.login_mechanisms = %w[PLAIN NOSUCH] }
    assert_raises(ArgumentError) { smtp.login_mechanisms = ['PLAIN LOGIN'] }
    trace = []
    smtp.on_debug { |_kind, data| trace << data }
    smtp.connect(TestBed::HOST, TestBed::PORT)
    smtp.starttls
    smtp.login(TestBed::USER, TestBed::PASSWORD)
    assert(trace.any? { |line| line.include?('AUTH CRAM-MD5') }, 'login did not start with CRAM-MD5')
    marker = unique_marker
    smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text(marker))
    refute(trace.any? { |line| line.include?('BDAT') }, 'BDAT used with chunking off')
    assert_delivered TestBed::POSTFIX_MAILDIR, marker
  end

  # No credentials without TLS to an untrusted local peer, until cleartext is allowed.
  def test_credentials_policy
    smtp = new_session
    smtp.local_peer_trusted = false
    smtp.connect(TestBed::HOST, TestBed::PORT)
    error = assert_raises(SmtpClient::SmtpError) { smtp.login(TestBed::USER, TestBed::PASSWORD) }
    assert error.is_a_result?(SmtpClient::Result::CREDENTIALS_POLICY)
    smtp.cleartext_credentials = true
    smtp.login(TestBed::USER, TestBed::PASSWORD)
    assert smtp.authenticated?
  end

  # Postfix offers no OAuth mechanism: SMTP_ERROR naming it; a malformed token is refused
  # before anything is sent.
  def test_login_oauth
    smtp = connected_tls
    error = assert_raises(SmtpClient::SmtpError) { smtp.login_oauth('alice@example.test', 'ya29.token') }
    assert_equal SmtpClient::Result::SMTP_ERROR, error.code
    assert_includes error.message, 'XOAUTH2'
    assert_raises(SmtpClient::UsageError) { smtp.login_oauth('alice', 'not a token', mechanism: :oauthbearer) }
    assert_raises(ArgumentError) { smtp.login_oauth('alice', 'token', mechanism: :gssapi) }
  end
end
