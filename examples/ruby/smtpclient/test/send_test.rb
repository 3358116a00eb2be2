# frozen_string_literal: true

require_relative 'test_helper'

class SendTest < Minitest::Test
  include TestBedHelpers

  # One accepted and one refused recipient: per-recipient results, the refusal listed, the
  # message delivered to bob.
  def test_sendmail_returns_every_recipient
    smtp = logged_in
    marker = unique_marker
    bob, rejected = smtp.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'],
                                  mail_text(marker))
    assert_equal ['bob@example.test', 250, 0], [bob.address, bob.rcpt_code, bob.data_code]
    assert bob.accepted?
    assert_equal ['reject550@example.test', 550, '5.1.1'],
                 [rejected.address, rejected.rcpt_code, rejected.enhanced_status.to_s]
    refute rejected.accepted?
    assert_equal [SmtpClient::Refused.new('reject550@example.test', 550, rejected.text)], smtp.refused
    assert_equal Encoding::UTF_8, bob.text.encoding
    smtp.quit
    assert_delivered TestBed::POSTFIX_MAILDIR, marker
  end

  # Every recipient refused: RecipientsRefused (an SmtpError, not a ResponseError, as in
  # smtplib) carrying the recipients.
  def test_all_refused_raises_with_the_recipients
    error = assert_raises(SmtpClient::RecipientsRefused) do
      logged_in.sendmail('alice@example.test', ['reject550@example.test'], mail_text('x'))
    end
    refute_kind_of SmtpClient::ResponseError, error
    assert_equal 550, error.reply_code
    assert_equal [['reject550@example.test', 550]], error.recipients.map { |r| [r.address, r.rcpt_code] }
  end

  # send_message: the envelope from the headers, Bcc not transmitted, options passed on.
  def test_send_message_takes_the_envelope_from_headers
    marker = unique_marker
    text = "From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n" \
           "Bcc: reject550@example.test\r\nSubject: #{marker}\r\n\r\nsend_message from Ruby.\r\n"
    recipients = logged_in.send_message(text, mail_options: ['BODY=8BITMIME'])
    assert_equal [['bob@example.test', true], ['reject550@example.test', false]],
                 recipients.map { |r| [r.address, r.accepted?] }
    assert_delivered TestBed::POSTFIX_MAILDIR, marker
  end

  # LMTP over Dovecot's Unix socket: one reply per recipient after the data; 'full' has a
  # 1-byte quota, so it is accepted at RCPT and refused after the data.
  def test_lmtp_replies_per_recipient
    lmtp = new_session(kind: :lmtp)
    lmtp.connect(TestBed::LMTP_SOCKET)
    marker = unique_marker
    bob, full = lmtp.sendmail('alice@example.test', ['bob@example.test', 'full@example.test'], mail_text(marker))
    assert_equal [250, 250, true], [bob.rcpt_code, bob.data_code, bob.accepted?]
    assert_equal [250, 552, false, 5], [full.rcpt_code, full.data_code, full.accepted?, full.enhanced_status.klass]
    assert_equal [['full@example.test', 552]], lmtp.refused.map { |r| [r.address, r.code] }
    lmtp.quit
    assert_delivered TestBed::LMTP_MAILDIR, marker
  end
end
