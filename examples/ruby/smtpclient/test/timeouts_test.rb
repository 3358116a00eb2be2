# frozen_string_literal: true

require_relative 'test_helper'

# Per-phase and operation timeouts against a listener that accepts and never greets.
class TimeoutsTest < Minitest::Test
  include TestBedHelpers

  def setup
    @server = TCPServer.new('127.0.0.1', 0)
    @clients = []
    @acceptor = Thread.new { loop { @clients << @server.accept } }
  end

  def teardown
    @acceptor.kill.join
    @server.close
    @clients.each(&:close)
    super
  end

  def port = @server.addr[1]

  def timed
    start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    error = assert_raises(SmtpClient::TimeoutError) { yield }
    [Process.clock_gettime(Process::CLOCK_MONOTONIC) - start, error]
  end

  def test_phase_timeout_names_the_phase
    smtp = new_session
    smtp.use_rfc5321_timeouts
    smtp.set_timeouts(greeting: 0.3, data_end: 600)
    elapsed, error = timed { smtp.connect('127.0.0.1', port) }
    assert_includes error.description, 'during the greeting (the greeting timeout)'
    assert_operator elapsed, :>=, 0.25
    assert_operator elapsed, :<, 5
    assert_raises(ArgumentError) { smtp.set_phase_timeout(:lunch, 1) }
    assert_raises(ArgumentError) { smtp.set_phase_timeout(:mail, -1) }
  end

  def test_operation_timeout_bounds_the_call
    smtp = new_session
    smtp.set_phase_timeout(:greeting, nil) # none: only the operation's total applies
    smtp.operation_timeout = 0.4
    elapsed, error = timed { smtp.connect('127.0.0.1', port) }
    assert_includes error.description, 'during the greeting (the operation timeout)'
    assert_operator elapsed, :>=, 0.35
    assert_operator elapsed, :<, 5
  end
end
