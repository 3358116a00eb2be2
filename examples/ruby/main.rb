# The Ruby consumer: STARTTLS, login, a message to two recipients of which one is refused, the
# refused list, delivery checked in the Maildir, then AUTH PLAIN through a Ruby callback.
#
# Settings from the environment (defaults for the test bed of tests/servers/up.sh):
# SMTP_HOST (localhost), SMTP_PORT (2525), SMTP_CA_FILE, SMTP_USER (alice), SMTP_PASS
# (alice-pass), POSTFIX_MAILDIR (bob's Maildir is $POSTFIX_MAILDIR/bob).
#
# Run: LD_LIBRARY_PATH=<prefix>/lib ruby -Ismtpclient/lib main.rb     (needs Debian's ruby-ffi),
# or with the gem installed: ruby main.rb
# Exit status: 0 when every step worked, 1 otherwise.

require 'smtpclient'

def env(name, fallback)
  v = ENV.fetch(name, '')
  v.empty? ? fallback : v
end

# The file of dir that contains marker, or nil after timeout seconds.
def wait_for_marker(dir, marker, timeout)
  deadline = Time.now + timeout
  loop do
    Dir.glob(File.join(dir, '*')).each do |f|
      return f if File.file?(f) && File.binread(f).include?(marker)
    end
    return nil if Time.now > deadline

    sleep 0.2
  end
end

def check(condition, what)
  raise what unless condition
end

host = env('SMTP_HOST', 'localhost')
port = Integer(env('SMTP_PORT', '2525'))
ca = env('SMTP_CA_FILE', '/tmp/smtpclient-testbed/tls/ca.crt')
user = env('SMTP_USER', 'alice')
pass = env('SMTP_PASS', 'alice-pass')
maildir = env('POSTFIX_MAILDIR', '/tmp/smtpclient-testbed/mail/postfix')
marker = "ruby-#{Process.pid}-#{Time.now.to_i}"

begin
  puts "library #{SmtpClient.library_version}, binding written for ABI 0.2 (ruby #{RUBY_VERSION}, ffi #{FFI::VERSION})"
  check(SmtpClient.library_version_number / 100 == SmtpClient::ABI_VERSION_NUMBER / 100,
        'the library is not a 0.2.x release')

  SmtpClient::Session.open(timeout: 30, tls: { ca_file: ca }) do |s|
    s.connect(host, port)
    puts "connected to #{host}:#{port}"
    s.starttls
    check(s.tls_active? && s.tls_peer_verified?, 'STARTTLS: TLS not active or peer not verified')
    puts "STARTTLS: #{s.tls_version} #{s.tls_cipher}, certificate verified against #{ca}"
    s.login(user, pass)
    puts "logged in as #{user} (smtp_client_login)"

    msg = "From: <alice@example.test>\r\n" \
          "To: <bob@example.test>, <reject550@example.test>\r\n" \
          "Subject: libsmtpclient Ruby example #{marker}\r\n" \
          "\r\n" \
          "Sent by examples/ruby through ruby-ffi.\r\n"
    recipients = s.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], msg)
    recipients.each { |r| puts "recipient: #{r.address} RCPT #{r.rcpt_code} #{r.enhanced_status} accepted: #{r.accepted?}" }
    refused = s.refused
    refused.each { |r| puts "refused: #{r.address} #{r.code} #{r.text}" }
    check(refused.size == 1 && refused[0].address == 'reject550@example.test' && refused[0].code == 550,
          'expected exactly reject550@example.test refused with 550')
    puts "sent to bob@example.test (marker #{marker})"
    s.quit
  end

  file = wait_for_marker(File.join(maildir, 'bob', 'new'), marker, 30)
  check(file, "the message did not arrive in bob's Maildir within 30 s")
  puts "delivered: #{file}"

  SmtpClient::Session.open(timeout: 30, tls: { ca_file: ca }) do |s2|
    s2.connect(host, port)
    s2.starttls
    calls = 0
    s2.auth('PLAIN') do |challenge, tls_active|
      calls += 1
      raise "unexpected step (challenge #{challenge.inspect}, TLS #{tls_active})" unless challenge.nil? && tls_active

      "\0#{user}\0#{pass}"
    end
    puts "AUTH PLAIN through a callback: #{s2.last_reply_code} #{s2.last_reply_text} (callback called #{calls} time(s))"
    check(calls == 1 && s2.last_reply_code == 235, 'AUTH PLAIN through the callback: want one call and 235')
    s2.quit
  end
rescue StandardError => e
  warn "FAILED: #{e.class}: #{e.message}"
  exit 1
end
puts 'Ruby example: all steps passed'
