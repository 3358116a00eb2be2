# frozen_string_literal: true

require_relative 'test_helper'

class ErrorsTest < Minitest::Test
  include TestBedHelpers
  R = SmtpClient::Result

  # The class hierarchy agrees with the library's (smtp_result_is_a) for every class: a class's
  # code is a kind of each ancestor's code, and of no other class's code.
  def test_classes_follow_the_library_hierarchy
    SmtpClient::ERROR_CLASSES.each do |code, klass|
      assert_same klass, SmtpClient.error_class_for(code)
      SmtpClient::ERROR_CLASSES.each do |other_code, other|
        assert_equal klass.ancestors.include?(other), SmtpClient::Native.smtp_result_is_a(code, other_code),
                     "#{klass} <= #{other} disagrees with smtp_result_is_a(#{code}, #{other_code})"
      end
    end
  end

  def test_codes_without_a_class_raise_their_nearest_base
    assert_same SmtpClient::IoError, SmtpClient.error_class_for(R::CONNECTION_REFUSED)
    assert_same SmtpClient::UsageError, SmtpClient.error_class_for(R::NULL_ARGUMENT)
    assert_same SmtpClient::SmtpError, SmtpClient.error_class_for(R::PANIC)
    assert_same SmtpClient::SmtpError, SmtpClient.error_class_for(12_345)
  end

  # A sender Postfix refuses (553 5.7.1): SenderRefused < ResponseError < SmtpError, with the
  # reply, enhanced status and sender copied into the exception.
  def test_sender_refused_carries_the_reply
    smtp = logged_in
    error = assert_raises(SmtpClient::SenderRefused) do
      smtp.sendmail('reject553@example.test', ['bob@example.test'], mail_text('x'))
    end
    assert_kind_of SmtpClient::ResponseError, error
    refute_kind_of SmtpClient::RecipientsRefused, error
    assert_equal R::SENDER_REFUSED, error.code
    assert_equal 'SMTP_RESULT_SENDER_REFUSED', error.result_name
    assert_equal 553, error.reply_code
    assert_equal '5.7.1', error.enhanced_status.to_s
    assert_equal 'reject553@example.test', error.sender
    assert error.is_a_result?(R::SMTP_ERROR)
    assert_empty error.recipients
    # The transaction was reset: the session goes on.
    smtp.noop
    assert_equal 250, smtp.last_reply_code
  end

  # Nothing listens on port 1: IoError with the errno.
  def test_connection_refused_is_an_io_error_with_errno
    error = assert_raises(SmtpClient::IoError) { new_session.connect('127.0.0.1', 1) }
    assert_equal R::CONNECTION_REFUSED, error.code
    assert_equal Errno::ECONNREFUSED::Errno, error.errno
    assert_kind_of Errno::ECONNREFUSED, error.system_call_error
  end

  def test_usage_errors_send_nothing
    error = assert_raises(SmtpClient::UsageError) do
      new_session.sendmail('alice@example.test', ['bob@example.test'], 'x', mail_options: ['TWO WORDS'])
    end
    assert error.is_a_result?(R::INVALID_ARGUMENT)
    # Not connected: a kind of ServerDisconnected, as smtplib says.
    assert_raises(SmtpClient::ServerDisconnected) { new_session.noop }
    assert_raises(ArgumentError) { SmtpClient::Session.new(kind: :pop3) }
    assert_raises(IOError) { new_session.tap(&:close).noop }
  end
end
