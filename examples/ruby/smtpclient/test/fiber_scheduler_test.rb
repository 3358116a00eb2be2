# frozen_string_literal: true

require_relative 'test_helper'

# The smallest Fiber scheduler that runs the gem's sessions: io_wait over IO.select, sleeps,
# blocking on a Mutex/Monitor and Timeout.timeout. (Applications use a real one, such as the
# async gem's.)
class SelectScheduler
  def initialize
    @readable = {}
    @writable = {}
    @deadlines = {} # fiber => monotonic time
    @ready = []
    @timers = [] # [deadline, fiber, exception class, message]
    @blocked = 0
    @mutex = Thread::Mutex.new
    @waits = 0
  end

  attr_reader :waits

  def fiber(&block)
    Fiber.new(blocking: false, &block).tap(&:resume)
  end

  def io_wait(io, events, timeout)
    fiber = Fiber.current
    @readable[io] = fiber if events.anybits?(IO::READABLE)
    @writable[io] = fiber if events.anybits?(IO::WRITABLE)
    @deadlines[fiber] = now + timeout if timeout
    @waits += 1
    Fiber.yield
  ensure
    @readable.delete(io)
    @writable.delete(io)
    @deadlines.delete(fiber)
  end

  def kernel_sleep(duration = nil)
    @deadlines[Fiber.current] = now + duration if duration
    Fiber.yield
  ensure
    @deadlines.delete(Fiber.current)
  end

  def block(_blocker, timeout = nil)
    @deadlines[Fiber.current] = now + timeout if timeout
    @blocked += 1
    Fiber.yield
  ensure
    @blocked -= 1
    @deadlines.delete(Fiber.current)
  end

  # Timeout.timeout under the scheduler: the fiber gets the exception where it waits.
  def timeout_after(duration, klass, message)
    timer = [now + duration, Fiber.current, klass, message]
    @timers << timer
    yield duration
  ensure
    @timers.delete(timer)
  end

  def unblock(_blocker, fiber)
    @mutex.synchronize { @ready << fiber }
  end

  def close = run

  def run
    until @readable.empty? && @writable.empty? && @deadlines.empty? && @ready.empty? && @blocked.zero? && @timers.empty?
      timeout = (@deadlines.values + @timers.map(&:first)).min&.then { |d| [d - now, 0].max }
      timeout = 0 unless @ready.empty?
      readable, writable = IO.select(@readable.keys, @writable.keys, [], timeout)
      woken = (readable || []).map { |io| @readable[io] } + (writable || []).map { |io| @writable[io] }
      woken += @deadlines.select { |_, d| d <= now }.keys
      woken += @mutex.synchronize { @ready.shift(@ready.size) }
      expired = @timers.select { |deadline, *| deadline <= now }
      @timers -= expired
      expired.each { |_, fiber, klass, message| fiber.raise(klass, message) if fiber.alive? }
      woken.uniq.each { |f| f.resume if f.alive? && expired.none? { |_, ef| ef == f } }
    end
  end

  private

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

class FiberSchedulerTest < Minitest::Test
  include TestBedHelpers

  # Three sessions in three fibers of one thread: each connects, does STARTTLS, logs in, sends
  # and quits through the non-blocking calls, the fibers taking turns while they wait.
  def test_sessions_share_one_thread_under_a_scheduler
    markers = Array.new(3) { |i| "#{unique_marker}-#{i}" }
    in_call = 0 # fibers suspended inside a session call
    most_in_call = 0
    around = lambda do |&call|
      in_call += 1
      most_in_call = [most_in_call, in_call].max
      call.call
    ensure
      in_call -= 1
    end
    results = {}
    scheduler = SelectScheduler.new
    Thread.new do
      Fiber.set_scheduler(scheduler)
      markers.each_with_index do |marker, i|
        Fiber.schedule do
          smtp = new_session(url: "smtp+starttls://#{TestBed::USER}:#{TestBed::PASSWORD}@#{TestBed::HOST}:#{TestBed::PORT}",
                             tls: { ca_file: TestBed::CA_FILE })
          around.call { smtp.connect }
          around.call { smtp.login } # STARTTLS first: the URL's policy
          results[i] = [smtp.tls_active?, smtp.authenticated?]
          sent = around.call { smtp.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], mail_text(marker)) }
          results[i] << sent.map { |r| [r.address, r.rcpt_code] }
          around.call { smtp.quit }
          results[i] << smtp.connected?
        rescue Exception => e # rubocop:disable Lint/RescueException -- reported by the test
          results[i] = e
        end
      end
    end.join # the scheduler runs the fibers when the thread ends
    3.times do |i|
      raise results[i] if results[i].is_a?(Exception)

      assert_equal [true, true, [['bob@example.test', 250], ['reject550@example.test', 550]], false], results[i]
    end
    # each fiber yielded inside a call (at the latest at STARTTLS, which waits for the
    # server) before the next one started: all three were in a call at once
    assert_equal 3, most_in_call
    # (how often each waits depends on how fast the server answers: a loopback Postfix often
    # answers while the library is still busy, so only the first wait of each is certain)
    assert_operator scheduler.waits, :>=, 3
    markers.each { |m| assert_delivered(File.join(TestBed::POSTFIX_MAILDIR, 'bob'), m) }
  end

  # A failure ends the fiber's call with the blocking call's exception; the session's timeout
  # bounds the wait too.
  def test_failures_under_a_scheduler
    results = {}
    Thread.new do
      Fiber.set_scheduler(SelectScheduler.new)
      Fiber.schedule do
        smtp = new_session
        smtp.connect('127.0.0.1', 1)
      rescue SmtpClient::SmtpError => e
        results[:refused] = e
      end
      Fiber.schedule do
        smtp = new_session(tls: { ca_file: TestBed::CA_FILE })
        smtp.connect(TestBed::HOST, TestBed::PORT)
        smtp.starttls
        smtp.login(TestBed::USER, TestBed::PASSWORD)
        smtp.sendmail('reject553@example.test', ['bob@example.test'], mail_text('x'))
      rescue SmtpClient::SmtpError => e
        results[:sender] = e
      end
    end.join
    assert_kind_of SmtpClient::IoError, results[:refused]
    assert_equal SmtpClient::Result::CONNECTION_REFUSED, results[:refused].code
    assert_equal Errno::ECONNREFUSED::Errno, results[:refused].errno
    assert_kind_of SmtpClient::SenderRefused, results[:sender]
    assert_equal 553, results[:sender].reply_code
  end

  # An exception while a fiber waits (here a Timeout) cancels the operation: the session is
  # closed, not left with an operation in progress, and can connect again.
  def test_an_interrupted_wait_cancels_the_operation
    require 'timeout'
    server = TCPServer.new('127.0.0.1', 0) # accepts (backlog) but never greets
    port = server.addr[1]
    outcome = nil
    smtp = new_session
    Thread.new do
      Fiber.set_scheduler(SelectScheduler.new)
      Fiber.schedule do
        Timeout.timeout(0.3) { smtp.connect('127.0.0.1', port) }
      rescue Timeout::Error => e
        outcome = e
      end
    end.join
    assert_kind_of Timeout::Error, outcome
    refute smtp.connected?
    smtp.connect(TestBed::HOST, TestBed::PORT) # blocking again: no operation is in progress
    assert smtp.connected?
  ensure
    server&.close
  end
end
