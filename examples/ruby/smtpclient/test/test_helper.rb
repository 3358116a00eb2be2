# frozen_string_literal: true

# Shared set-up of the gem's tests. Most tests need the test bed (tests/servers/up.sh): its
# settings come from the environment (examples/run-consumers.sh exports the test bed's env file).
#
# Run: LD_LIBRARY_PATH=<prefix>/lib ruby -Ilib -e 'Dir["test/*_test.rb"].each { |f| require_relative f }'
require 'minitest/autorun'
require 'socket'
require 'smtpclient'

module TestBed
  def self.env(name, fallback) = ENV.fetch(name, '').then { |v| v.empty? ? fallback : v }

  HOST = env('SMTP_HOST', 'localhost')
  PORT = Integer(env('SMTP_PORT', '2525'))
  CA_FILE = env('SMTP_CA_FILE', '/tmp/smtpclient-testbed/tls/ca.crt')
  USER = env('SMTP_USER', 'alice')
  PASSWORD = env('SMTP_PASS', 'alice-pass')
  LMTP_SOCKET = env('LMTP_SOCKET', '/tmp/smtpclient-testbed/dovecot/lmtp.sock')
  POSTFIX_MAILDIR = env('POSTFIX_MAILDIR', '/tmp/smtpclient-testbed/mail/postfix')
  LMTP_MAILDIR = env('LMTP_MAILDIR', '/tmp/smtpclient-testbed/mail/lmtp')
end

module TestBedHelpers
  def sessions = (@sessions ||= [])

  def new_session(**settings)
    SmtpClient::Session.new(timeout: 30, **settings).tap { |s| sessions << s }
  end

  def teardown
    sessions.each(&:close)
    super
  end

  # A session to Postfix after a verified STARTTLS.
  def connected_tls
    new_session(tls: { ca_file: TestBed::CA_FILE }).tap do |s|
      s.connect(TestBed::HOST, TestBed::PORT)
      s.starttls
    end
  end

  # connected_tls plus a login as the test user (Postfix relays only for it).
  def logged_in = connected_tls.tap { |s| s.login(TestBed::USER, TestBed::PASSWORD) }

  def unique_marker = "ruby-#{name}-#{Process.pid}-#{Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)}"

  def mail_text(marker)
    "From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: #{marker}\r\n\r\nSent by the Ruby gem's tests.\r\n"
  end

  # Fails unless a file under dir holds marker within 30 s (delivery follows the 250 later).
  def assert_delivered(dir, marker)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      found = Dir.glob(File.join(dir, '**', '*')).any? do |path|
        File.file?(path) && File.binread(path).include?(marker)
      rescue Errno::ENOENT
        false # moved from new/ to cur/ meanwhile
      end
      return pass if found

      sleep 0.2
    end
    flunk "#{marker} not delivered into #{dir} within 30 s"
  end
end
