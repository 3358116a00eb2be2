# frozen_string_literal: true

# A string argument holding a NUL byte is refused with ArgumentError naming the argument,
# before the C library is called; it is never truncated at the NUL.
require_relative 'test_helper'

class NulInStringTest < Minitest::Test
  include TestBedHelpers
  BAD = "a@b\0x"

  def assert_refused(argument, &call)
    error = assert_raises(ArgumentError, &call)
    assert_includes error.message, "#{argument} contains a NUL byte"
  end

  # "localhost" is what C would see of this host: without the check, connect would succeed.
  def test_connect_refuses_nul_in_host
    assert_refused('host') { new_session.connect("localhost\0.invalid", TestBed::PORT) }
  end

  # Refused before anything is sent, and the session stays usable.
  def test_sendmail_refuses_nul_in_recipient
    smtp = new_session
    smtp.connect(TestBed::HOST, TestBed::PORT)
    assert_equal 220, smtp.last_reply_code
    assert_refused('to[1]') { smtp.sendmail('alice@example.test', ['bob@example.test', BAD], "Subject: x\r\n\r\nx\r\n") }
    # Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
    assert_equal 220, smtp.last_reply_code, 'a command was sent'
    smtp.noop
    assert_equal 250, smtp.last_reply_code
    smtp.quit
  end

  # Every other string argument of the gem goes through the same check.
  def test_every_string_argument_is_checked
    smtp = new_session
    assert_refused('ca_file') { smtp.configure_tls(ca_file: BAD) }
    assert_refused('server_name') { smtp.configure_tls(server_name: BAD) }
    assert_refused('local_hostname') { smtp.local_hostname = BAD }
    assert_refused('user') { smtp.login(BAD, 'pass') }
    assert_refused('password') { smtp.login('user', BAD) }
    assert_refused('mechanism') { smtp.auth(BAD) { flunk 'the block must not run' } }
    assert_refused('from') { smtp.sendmail(BAD, ['bob@example.test'], 'x') }
    assert_refused('mail_options[0]') { smtp.sendmail('a@b', ['bob@example.test'], 'x', mail_options: [BAD]) }
    assert_refused('to[0]') { smtp.send_message('x', to: [BAD]) }
  end
end
