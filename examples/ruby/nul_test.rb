# A string argument holding a NUL byte is refused with ArgumentError naming the argument,
# before the C library is called; it is never truncated at the NUL.
#
# test_sendmail_refuses_nul_in_recipient needs the test bed's Postfix (SMTP_HOST, default
# localhost; SMTP_PORT, default 2525).
#
# Run: LD_LIBRARY_PATH=<prefix>/lib ruby nul_test.rb     (minitest ships with Ruby)

require 'minitest/autorun'
require_relative 'smtpclient'

class NulInStringTest < Minitest::Test
  BAD = "a@b\0x".freeze

  def setup
    @host = ENV.fetch('SMTP_HOST', '').then { |v| v.empty? ? 'localhost' : v }
    @port = Integer(ENV.fetch('SMTP_PORT', '').then { |v| v.empty? ? '2525' : v })
    @session = SmtpClient::Session.new
  end

  def teardown
    @session.close
  end

  def assert_refused(argument, &call)
    error = assert_raises(ArgumentError, &call)
    assert_includes error.message, "#{argument} contains a NUL byte"
  end

  # "localhost" is what C would see of this host: without the check, connect would succeed.
  def test_connect_refuses_nul_in_host
    assert_refused('host') { @session.connect("localhost\0.invalid", @port) }
  end

  # Refused before anything is sent, and the session stays usable.
  def test_sendmail_refuses_nul_in_recipient
    @session.timeout_ms = 30_000
    @session.connect(@host, @port)
    assert_equal 220, @session.last_reply_code
    assert_refused('to[1]') do
      @session.sendmail('alice@example.test', ['bob@example.test', BAD], "Subject: x\r\n\r\nx\r\n")
    end
    # Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
    assert_equal 220, @session.last_reply_code, 'a command was sent'
    @session.noop
    assert_equal 250, @session.last_reply_code
    @session.quit
  end

  # Every other string argument of the binding goes through the same check.
  def test_every_string_argument_is_checked
    assert_refused('path') { @session.tls_ca_file = BAD }
    assert_refused('user') { @session.login(BAD, 'pass') }
    assert_refused('password') { @session.login('user', BAD) }
    assert_refused('mechanism') { @session.auth(BAD) { flunk 'the callback must not run' } }
    assert_refused('from') { @session.sendmail(BAD, ['bob@example.test'], 'x') }
  end
end
