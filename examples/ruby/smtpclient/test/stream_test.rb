# frozen_string_literal: true

require 'stringio'
require_relative 'test_helper'

# sendmail_stream: the body from an IO-like or a block, in bounded memory.
class StreamTest < Minitest::Test
  include TestBedHelpers

  # 3 MB from a StringIO, its size announced, read in chunks; delivered whole.
  def test_stream_from_an_io
    smtp = logged_in
    marker = unique_marker
    text = +mail_text("stream #{marker}")
    text << ("#{'0123456789' * 7}\r\n") while text.bytesize < 3 << 20
    text << "last line #{marker}\r\n"
    io = StringIO.new(text)
    reads = 0
    io.define_singleton_method(:read) { |*args| reads += 1; super(*args) }
    bob, rejected = smtp.sendmail_stream('alice@example.test', ['bob@example.test', 'reject550@example.test'], io,
                                         size_estimate: text.bytesize)
    assert bob.accepted?
    assert_equal 550, rejected.rcpt_code
    assert_operator reads, :>, 2
    assert_delivered TestBed::POSTFIX_MAILDIR, "last line #{marker}"
  end

  # From a block returning chunks larger than the library's buffer (kept for the next call).
  def test_stream_from_a_block
    smtp = logged_in
    marker = unique_marker
    chunks = [mail_text(marker), 'x' * 300_000, "\r\nend #{marker}\r\n"]
    smtp.sendmail_stream('alice@example.test', ['bob@example.test']) { |_room| chunks.shift }
    assert_delivered TestBed::POSTFIX_MAILDIR, "end #{marker}"
  end

  # A size estimate over the limit: refused before anything is sent, still connected.
  def test_size_estimate_over_the_limit
    smtp = logged_in
    error = assert_raises(SmtpClient::SmtpError) do
      smtp.sendmail_stream('alice@example.test', ['bob@example.test'], StringIO.new("Subject: x\r\n\r\nx\r\n"),
                           size_estimate: 20 << 20)
    end
    assert_equal SmtpClient::Result::MESSAGE_TOO_LARGE, error.code
    assert smtp.connected?
  end

  # An exception while reading (after 2 MB: past the first chunk the library reads before the
  # transaction starts) is raised again by sendmail_stream, and the session is closed.
  def test_exception_in_the_body_aborts
    smtp = logged_in
    sent = 0
    error = assert_raises(IOError) do
      smtp.sendmail_stream('alice@example.test', ['bob@example.test']) do |_room|
        raise IOError, 'disk on fire' if sent > 2 << 20

        sent += 100
        "#{'y' * 98}\r\n"
      end
    end
    assert_equal 'disk on fire', error.message
    refute smtp.connected?
  end

  def test_needs_a_body
    assert_raises(ArgumentError) { new_session.sendmail_stream('a@b', ['c@d']) }
  end
end
