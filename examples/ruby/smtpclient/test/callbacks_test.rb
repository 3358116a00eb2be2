# frozen_string_literal: true

require_relative 'test_helper'

class CallbacksTest < Minitest::Test
  include TestBedHelpers

  # AUTH PLAIN through a block: the initial response, computed in Ruby, logs in.
  def test_auth_plain_through_a_block
    smtp = connected_tls
    calls = []
    smtp.auth('PLAIN') do |challenge, tls_active|
      calls << [challenge, tls_active]
      "\0#{TestBed::USER}\0#{TestBed::PASSWORD}"
    end
    assert_equal [[nil, true]], calls
    assert smtp.authenticated?
  end

  # AUTH LOGIN without an initial response: the block sees the server's challenges.
  def test_auth_login_answers_challenges
    smtp = connected_tls
    challenges = []
    smtp.auth('LOGIN', initial_response: false) do |challenge, _tls|
      challenges << challenge
      challenges.size == 1 ? TestBed::USER : TestBed::PASSWORD
    end
    assert_equal ['Username:', 'Password:'], challenges
    assert smtp.authenticated?
  end

  def test_wrong_password_is_an_authentication_error
    error = assert_raises(SmtpClient::AuthenticationError) do
      connected_tls.auth('PLAIN') { "\0#{TestBed::USER}\0wrong" }
    end
    assert_equal 535, error.reply_code
  end

  # An exception in the block cancels the exchange and is raised by #auth, unchanged.
  def test_exception_in_the_block_is_raised_by_auth
    smtp = connected_tls
    error = assert_raises(KeyError) { smtp.auth('PLAIN') { raise KeyError, 'no password stored' } }
    assert_equal 'no password stored', error.message
    refute smtp.authenticated?
    smtp.noop # the session survived
  end

  # The debug block receives the protocol trace as binary strings with their kind.
  def test_debug_block_sees_the_trace
    events = []
    smtp = new_session(tls: { ca_file: TestBed::CA_FILE })
    smtp.on_debug { |kind, data| events << [kind, data] }
    smtp.connect(TestBed::HOST, TestBed::PORT)
    smtp.noop
    smtp.on_debug # off
    smtp.noop
    assert(events.any? { |kind, data| kind == :received && data.start_with?('220') }, events.inspect)
    assert_equal 1, events.count { |kind, data| kind == :sent && data.include?('NOOP') }, events.inspect
    assert_equal Encoding::BINARY, events.first[1].encoding
  end

  # Network calls release the global VM lock: a Ruby thread keeps running while a call waits
  # on a server that takes seconds to answer.
  def test_network_calls_release_the_gvl
    server = TCPServer.new('127.0.0.1', 0)
    slow = Thread.new do
      client = server.accept
      sleep 1.5
      client.write("220 slow.test ESMTP\r\n")
      client.gets
      client.write("221 bye\r\n")
      client.close
    end
    ticks = 0
    ticker = Thread.new { loop { ticks += 1; sleep 0.05 } } # rubocop:disable Style/Semicolon
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    smtp = new_session
    smtp.connect('127.0.0.1', server.addr[1])
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    ticker.kill
    assert_operator elapsed, :>=, 1.4
    assert_operator ticks, :>=, 15, "the ticker ran #{ticks} times in #{elapsed.round(2)} s"
    smtp.quit
    slow.join
  ensure
    server&.close
  end

  # Threads sharing a session wait for each other instead of getting CONCURRENT_CALL.
  def test_threads_sharing_a_session_are_serialised
    smtp = logged_in
    4.times.map { Thread.new { 5.times { smtp.noop } } }.each(&:join)
    assert_equal 250, smtp.last_reply_code
  end
end
