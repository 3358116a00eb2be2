# frozen_string_literal: true

require_relative 'test_helper'

# Connection strings (Session.new(url:), #url=, #connect and #login without arguments).
class UrlTest < Minitest::Test
  include TestBedHelpers

  # smtp+starttls:// with credentials: connect to the URL's endpoint, login with its user and
  # password after a verified STARTTLS (the URL's policy is required); the message arrives.
  def test_starttls_url_connects_logs_in_and_sends
    url = "smtp+starttls://#{TestBed::USER}:#{TestBed::PASSWORD}@#{TestBed::HOST}:#{TestBed::PORT}"
    smtp = new_session(url: url, tls: { ca_file: TestBed::CA_FILE })
    smtp.connect
    refute smtp.tls_active?
    smtp.login
    assert smtp.tls_active?
    assert smtp.tls_peer_verified?
    assert smtp.authenticated?
    marker = unique_marker
    recipients = smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text(marker))
    assert recipients.first.accepted?
    smtp.quit
    assert_delivered(File.join(TestBed::POSTFIX_MAILDIR, 'bob'), marker)
  end

  # lmtp+unix:// makes an LMTP session (the kind comes from the scheme).
  def test_lmtp_unix_url
    smtp = new_session(url: "lmtp+unix://#{TestBed::LMTP_SOCKET}")
    smtp.connect
    marker = unique_marker
    recipients = smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text(marker))
    assert_equal 250, recipients.first.data_code
    smtp.quit
    assert_delivered(File.join(TestBed::LMTP_MAILDIR, 'bob'), marker)
  end

  def test_url_errors
    error = assert_raises(SmtpClient::UsageError) { new_session(url: 'smtp://alice:hunter2-secret@mail.example.org:99999') }
    assert_match(/port/, error.message)
    refute_match(/hunter2-secret/, error.message)
    error = assert_raises(SmtpClient::UsageError) { new_session(kind: :smtp, url: "smtps://#{TestBed::HOST}") }
    assert_match(/scheme/, error.message)
    assert_raises(SmtpClient::UsageError) { new_session(url: "imap://#{TestBed::HOST}") }
    assert_raises(ArgumentError) { new_session(url: "smtp://h\0ost") }
    # no URL, or one without credentials: nothing to connect to or log in with
    assert_raises(SmtpClient::UsageError) { new_session.connect }
    smtp = new_session(url: "smtp://#{TestBed::HOST}:#{TestBed::PORT}")
    smtp.connect
    error = assert_raises(SmtpClient::UsageError) { smtp.login }
    assert error.is_a_result?(SmtpClient::Result::INVALID_ARGUMENT)
    assert_raises(ArgumentError) { smtp.login('alice') }
    error = assert_raises(SmtpClient::SmtpError) { smtp.url = "smtp://#{TestBed::HOST}" }
    assert_equal SmtpClient::Result::BAD_STATE, error.code
    assert_equal 'SMTP_RESULT_IN_PROGRESS', SmtpClient::Native.smtp_result_name(SmtpClient::Result::IN_PROGRESS)
  end
end
