# frozen_string_literal: true

require_relative 'test_helper'

# DSN (RFC 3461) and REQUIRETLS (RFC 8689) through the dsn: and requiretls: keywords.
class DsnTest < Minitest::Test
  include TestBedHelpers

  def connected_plain = new_session.tap { |s| s.connect(TestBed::HOST, TestBed::PORT) }

  # The message of dir holding marker, waited for up to 30 s.
  def mail_with(dir, marker)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      Dir.glob(File.join(dir, '*')).each do |path|
        text = File.binread(path)
        return text if text.include?(marker)
      rescue Errno::ENOENT
        next
      end
      sleep 0.2
    end
    flunk "no message with #{marker} in #{dir} within 30 s"
  end

  # NOTIFY=SUCCESS for bob: Postfix delivers and sends alice a delivery status notification
  # with the ENVID and bob's ORCPT; NEVER for the refused reject550 asks for none.
  def test_success_notification_reaches_the_sender
    smtp = logged_in
    marker = unique_marker
    envid = "ruby-dsn #{marker}"
    orcpt = "orig+#{marker}@example.test"
    bob, rejected = smtp.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'],
                                  mail_text(marker),
                                  dsn: { ret: :hdrs, envid: envid,
                                         notify: { 'Bob@Example.test' => %i[success failure],
                                                   'reject550@example.test' => :never },
                                         orcpt: { 'bob@example.test' => orcpt } })
    assert bob.accepted?
    refute rejected.accepted?
    smtp.quit
    assert_delivered File.join(TestBed::POSTFIX_MAILDIR, 'bob'), marker
    report = mail_with(File.join(TestBed::POSTFIX_MAILDIR, 'alice', 'new'), marker)
    ['report-type=delivery-status', "Original-Envelope-Id: #{envid}", "Original-Recipient: rfc822;#{orcpt}",
     'Action: delivered'].each { |want| assert_includes report, want }
  end

  # Bad DSN input: ArgumentError from the binding (unknown symbols) or UsageError from the
  # library, before anything is sent; the session stays usable.
  def test_bad_dsn_input_is_refused
    smtp = connected_plain
    send = ->(**opts) { smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text('x'), **opts) }
    assert_raises(ArgumentError) { send.call(dsn: { notify: { 'bob@example.test' => :sometimes } }) }
    assert_raises(ArgumentError) { send.call(dsn: { ret: :everything }) }
    assert_raises(ArgumentError) { send.call(dsn: { policy: :maybe }) }
    assert_raises(ArgumentError) { send.call(dsn: { envid: "a\0b" }) }
    [{ dsn: { notify: { 'bob@example.test' => %i[never success] } } },
     { dsn: { notify: { 'carol@example.test' => :success } } },
     { dsn: { envid: "a\tb" } },
     { dsn: { ret: :full }, mail_options: ['RET=HDRS'] },
     { requiretls: true, mail_options: ['REQUIRETLS'] }].each do |opts|
      error = assert_raises(SmtpClient::UsageError, opts.inspect) { send.call(**opts) }
      assert_equal SmtpClient::Result::INVALID_ARGUMENT, error.code
    end
    smtp.noop
  end

  # REQUIRETLS over plain text: TlsRequired before MAIL; the connection stays open.
  def test_requiretls_without_tls_fails_before_mail
    smtp = connected_plain
    error = assert_raises(SmtpClient::TlsRequired) do
      smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text('x'), requiretls: true)
    end
    assert_empty error.recipients
    assert smtp.connected?
    marker = unique_marker
    smtp.sendmail('alice@example.test', ['bob@example.test'], mail_text(marker))
    assert_delivered File.join(TestBed::POSTFIX_MAILDIR, 'bob'), marker
  end
end
