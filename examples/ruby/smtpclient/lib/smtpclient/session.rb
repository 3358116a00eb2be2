# frozen_string_literal: true

require 'io/wait'
require 'monitor'

module SmtpClient
  # The outcome of one recipient of the last transaction: the RCPT reply code, for LMTP the
  # recipient's own reply after the data (0 for SMTP and for a recipient refused at RCPT), and
  # the deciding reply's text and enhanced status (the after-data reply when there is one).
  Recipient = Struct.new(:address, :rcpt_code, :data_code, :text, :enhanced_status) do
    # Whether the server took the message for this recipient.
    def accepted?
      data_code.zero? ? [250, 251].include?(rcpt_code) : (data_code / 100) == 2
    end
  end

  # A refused recipient of the last send (smtplib's sendmail() return value).
  Refused = Struct.new(:address, :code, :text)

  # A server reply: its code and text (lines joined with "\n"), as smtplib's (code, message).
  Reply = Struct.new(:code, :text)

  # One SMTP, SMTPS or LMTP session (smtp_client).
  #
  #   SmtpClient::Session.open(tls: { ca_file: 'ca.crt', policy: :required }) do |smtp|
  #     smtp.connect('mail.example.org', 587)
  #     smtp.login('alice', 'secret')
  #     smtp.sendmail('alice@example.org', ['bob@example.org'], message)
  #     smtp.quit
  #   end
  #
  # - The session owns its C handle: #close frees it (Session.open's block form closes it), and
  #   a forgotten session is freed by the garbage collector.
  # - Calls on one session are serialised by a lock, so threads sharing a session wait for each
  #   other instead of getting SMTP_RESULT_CONCURRENT_CALL. Network calls release the global VM
  #   lock: other threads run while one waits for the server.
  # - Blocks given as callbacks (#auth's step, #on_debug) run on the thread that made the call,
  #   during it, and must not call the same session (the library refuses: REENTRANT_CALL). An
  #   exception raised in one never reaches C: the exchange is cancelled and the exception is
  #   raised again by the call once the library has returned.
  # - Every string argument holding a NUL byte is refused with ArgumentError (C would read it
  #   only up to the NUL). Strings the library returns are copied at once.
  # - Under a Fiber scheduler (Fiber.set_scheduler, e.g. the async gem), #connect, #starttls,
  #   #login, #ehlo_or_helo_if_needed, #sendmail, #send_message and #quit use the library's
  #   non-blocking calls and wait for the socket with IO#wait_readable / #wait_writable, so the
  #   fiber yields to the others instead of holding up the thread. An exception raised while
  #   one waits (a task stopped, a timeout) cancels the operation and closes the connection.
  #   The other network calls (#auth, #login_oauth, #sendmail_stream, #noop, the low-level
  #   commands) have no non-blocking form and block the thread as without a scheduler.
  class Session
    KINDS = { smtp: 0, smtps: 1, lmtp: 2 }.freeze
    TLS_POLICIES = { none: 0, opportunistic: 1, required: 2 }.freeze
    TLS_VERSIONS = { tls12: 12, tls13: 13 }.freeze
    DEBUG_KINDS = %i[connect sent received info].freeze

    # Session.new(...) with a block: yields the session and closes it afterwards.
    def self.open(**settings)
      session = new(**settings)
      return session unless block_given?

      begin
        yield session
      ensure
        session.close
      end
    end

    # kind: :smtp, :smtps (TLS from the first byte) or :lmtp; by default the kind url's scheme
    # needs, else :smtp. url: a connection string (see #url=). timeout: seconds for each
    # network operation (nil: the library's default). tls: see #configure_tls (its policy
    # overrides the URL's).
    #
    #   smtp = SmtpClient::Session.new(url: 'smtp+starttls://alice:secret@mail.example.org')
    #   smtp.connect          # the URL's host and port
    #   smtp.login            # the URL's user and password, after STARTTLS
    def initialize(kind: nil, url: nil, timeout: nil, local_hostname: nil, tls: nil)
      kind ||= url.nil? ? :smtp : Session.kind_of_url(url)
      code = KINDS.fetch(kind) { raise ArgumentError, "unknown session kind #{kind.inspect} (#{KINDS.keys.join(', ')})" }
      raw = Native.smtp_client_new(code)
      raise NoMemoryError, 'smtp_client_new failed' if raw.null?

      @pointer = FFI::AutoPointer.new(raw, Native.method(:smtp_client_free))
      @lock = Monitor.new
      @debug_callback = nil # the FFI::Function C may call: kept alive as long as the session
      self.url = url if url
      self.timeout = timeout if timeout
      self.local_hostname = local_hostname if local_hostname
      configure_tls(**tls) if tls
    end

    # The kind a URL's scheme needs (case-insensitive, as the library reads it); an unknown
    # scheme gives :smtp, whose #url= then refuses it with the library's message.
    def self.kind_of_url(url)
      case url.to_s.split('://', 2).first.downcase
      when 'smtps' then :smtps
      when 'lmtp', 'lmtp+unix' then :lmtp
      else :smtp
      end
    end

    # A connection string: smtp://[user:password@]host[:port][/][?tls=none|opportunistic|required]
    # (port 25), smtp+starttls:// (STARTTLS required, port 587), smtps:// (port 465),
    # lmtp://host[:port] (port 2003) or lmtp+unix:///path; user and password percent-encoded
    # (%40 for @). Sets the TLS policy now, the endpoint #connect without a host uses and the
    # credentials #login without a user sends; a later URL replaces all three. The scheme must
    # match the session's kind. UsageError for a malformed URL (the message names the part,
    # never the password) or one of another kind; SmtpError (BAD_STATE) once connected.
    def url=(url)
      url = SmtpClient.c_string('url', url)
      call(:set_url) { |h| Native.smtp_client_set_url(h, url) }
    end

    # Free the session now (closing the connection without QUIT). Idempotent.
    def close
      @lock.synchronize do
        @pointer&.free
        @pointer = nil
      end
    end

    def closed? = @pointer.nil?

    def timeout=(seconds)
      ms = (seconds * 1000).round
      raise ArgumentError, 'timeout must be between 0.001 and 4294967 seconds' unless ms.between?(1, 0xffff_ffff)

      call(:set_timeout_ms) { |h| Native.smtp_client_set_timeout_ms(h, ms) }
    end

    # The timeout of one phase of the conversation, in seconds (nil: none): :connect,
    # :tls_handshake, :greeting, :ehlo, :mail, :rcpt, :data, :data_block, :data_end or :other.
    # #timeout= sets them all; a TimeoutError's description names the phase and the limit.
    #
    #   smtp.set_phase_timeout(:greeting, 10)
    def set_phase_timeout(phase, seconds)
      value = Native::PHASES.fetch(phase) do
        raise ArgumentError, "unknown phase #{phase.inspect} (#{Native::PHASES.keys.join(', ')})"
      end
      ms = timeout_ms(seconds)
      call(:set_phase_timeout_ms) { |h| Native.smtp_client_set_phase_timeout_ms(h, value, ms) }
    end

    # Several phases at once, as keywords: smtp.set_timeouts(greeting: 10, data_end: 600).
    def set_timeouts(**phases)
      phases.each { |phase, seconds| set_phase_timeout(phase, seconds) }
      nil
    end

    # The timeouts RFC 5321 §4.5.3.2 gives the phases it names: greeting, MAIL and RCPT 5
    # minutes, DATA initiation 2, each data block 3, DATA termination 10; the others keep theirs.
    def use_rfc5321_timeouts
      call(:set_rfc5321_timeouts) { |h| Native.smtp_client_set_rfc5321_timeouts(h) }
    end

    # The total time in seconds one operation (connect, login, sendmail, ...) may take, however
    # slowly the server sends (nil, the default: no total).
    def operation_timeout=(seconds)
      ms = timeout_ms(seconds)
      call(:set_operation_timeout_ms) { |h| Native.smtp_client_set_operation_timeout_ms(h, ms) }
    end

    def local_hostname=(name)
      call(:set_local_hostname) { |h| Native.smtp_client_set_local_hostname(h, SmtpClient.c_string('local_hostname', name)) }
    end

    # TLS settings, each optional: ca_file / ca_dir (instead of the system trust store),
    # client_cert and client_key (PEM files, together), server_name (SNI and the name checked),
    # min_version (:tls12 or :tls13), verify (false only for tests) and policy (:none,
    # :opportunistic or :required: STARTTLS done by the first command that greets).
    def configure_tls(ca_file: nil, ca_dir: nil, client_cert: nil, client_key: nil, server_name: nil,
                      min_version: nil, verify: true, policy: nil)
      if ca_file
        call(:set_tls_ca_file) { |h| Native.smtp_client_set_tls_ca_file(h, SmtpClient.c_string('ca_file', ca_file)) }
      end
      call(:set_tls_ca_dir) { |h| Native.smtp_client_set_tls_ca_dir(h, SmtpClient.c_string('ca_dir', ca_dir)) } if ca_dir
      if client_cert || client_key
        call(:set_tls_client_cert) do |h|
          Native.smtp_client_set_tls_client_cert(h, SmtpClient.c_string('client_cert', client_cert),
                                                 SmtpClient.c_string('client_key', client_key))
        end
      end
      if server_name
        call(:set_tls_server_name) { |h| Native.smtp_client_set_tls_server_name(h, SmtpClient.c_string('server_name', server_name)) }
      end
      if min_version
        version = TLS_VERSIONS.fetch(min_version) { raise ArgumentError, "unknown TLS version #{min_version.inspect}" }
        call(:set_tls_min_version) { |h| Native.smtp_client_set_tls_min_version(h, version) }
      end
      call(:set_tls_verify) { |h| Native.smtp_client_set_tls_verify(h, verify ? 0 : 1) }
      return unless policy

      value = TLS_POLICIES.fetch(policy) { raise ArgumentError, "unknown TLS policy #{policy.inspect}" }
      call(:set_tls_policy) { |h| Native.smtp_client_set_tls_policy(h, value) }
    end

    # Receive the protocol trace: the block gets the event kind (:connect, :sent, :received,
    # :info) and its bytes (a binary String). level 1: commands and replies; 2: with
    # timestamps. Without a block: stop tracing.
    def on_debug(level: 1, &block)
      if block.nil?
        call(:set_debuglevel) { |h| Native.smtp_client_set_debuglevel(h, 0) }
        call(:set_debug_callback) { |h| Native.smtp_client_set_debug_callback(h, nil, nil, nil) }
        @debug_callback = nil
        return
      end
      function = FFI::Function.new(:void, %i[pointer int32 pointer size_t]) do |_userdata, kind, data, len|
        bytes = len.zero? ? ''.b : data.read_bytes(len) # a copy: borrowed for this call
        block.call(DEBUG_KINDS.fetch(kind, kind), bytes)
      rescue Exception => e # rubocop:disable Lint/RescueException -- nothing may unwind into C
        @callback_exception ||= e
      end
      call(:set_debug_callback) { |h| Native.smtp_client_set_debug_callback(h, function, nil, nil) }
      @debug_callback = function
      call(:set_debuglevel) { |h| Native.smtp_client_set_debuglevel(h, level) }
    end

    # smtplib's connect(host, port): port 0 takes it from "host:port" or the kind's default; a
    # host starting with "/" is a Unix socket. Without a host: the endpoint of the URL (#url=).
    def connect(host = nil, port = 0)
      host = SmtpClient.c_string('host', host) unless host.nil?
      network(:connect, ->(h) { Native.smtp_client_start_connect(h, host, port) }) { |h| Native.smtp_client_connect(h, host, port) }
      self
    end

    def starttls = network(:starttls, ->(h) { Native.smtp_client_start_starttls(h) }) { |h| Native.smtp_client_starttls(h) }

    # smtplib's login(): the best mechanism both sides support. Without user and password: the
    # URL's (#url=; UsageError when it carried none).
    def login(user = nil, password = nil, initial_response: true)
      raise ArgumentError, 'login needs a user and a password, or neither (the URL\'s)' if user.nil? != password.nil?

      user = SmtpClient.c_string('user', user) unless user.nil?
      password = SmtpClient.c_string('password', password) unless password.nil?
      mode = initial_response ? Native::INITIAL_RESPONSE_SEND : Native::INITIAL_RESPONSE_WAIT
      network(:login, ->(h) { Native.smtp_client_start_login(h, user, password, mode) }) do |h|
        Native.smtp_client_login(h, user, password, mode)
      end
    end

    # smtplib's auth(mechanism, authobject): the block is called for each step with the
    # server's challenge (a binary String; nil for the initial response) and whether TLS is
    # active, and returns the response (String), or :no_initial_response when the challenge is
    # nil to send "AUTH <mechanism>" alone.
    def auth(mechanism, initial_response: true, &step)
      raise ArgumentError, 'auth needs a block (the exchange step)' unless step

      mechanism = SmtpClient.c_string('mechanism', mechanism)
      mode = initial_response ? Native::INITIAL_RESPONSE_SEND : Native::INITIAL_RESPONSE_WAIT
      function = FFI::Function.new(:int32, %i[pointer pointer size_t bool bool pointer]) do |_u, challenge, len, is_initial, tls_active, response|
        auth_step(step, challenge.null? ? nil : challenge.read_bytes(len), is_initial, tls_active, response)
      rescue Exception => e # rubocop:disable Lint/RescueException -- nothing may unwind into C
        @callback_exception ||= e
        Native::AUTH_STEP_ABORT
      end
      # The FFI::Function stays referenced (local variable) until smtp_client_auth returns; the
      # library keeps nothing after that.
      call(:auth) { |h| Native.smtp_client_auth(h, mechanism, function, nil, mode) }
    end

    # smtplib's sendmail(from, to, msg, mail_options, rcpt_options). Returns every recipient's
    # outcome (Array of Recipient) when at least one accepted the message; raises
    # RecipientsRefused (or DataError) carrying them when none did.
    #
    # dsn: DSN (RFC 3461) settings, sent when the server advertises DSN: { ret: :hdrs,
    # envid: 'id', notify: { 'bob@example.org' => %i[success failure] }, orcpt:
    # { 'bob@example.org' => 'bob@old.example.org' }, policy: :optional } (policy :require,
    # the default, raises NotSupported before MAIL when the server lacks DSN). requiretls: true
    # sends REQUIRETLS (RFC 8689), only over verified TLS to a server that advertises it, else
    # raises TlsRequired before MAIL.
    def sendmail(from, to, message, mail_options: [], rcpt_options: [], dsn: nil, requiretls: false)
      from = SmtpClient.c_string('from', from)
      to = Array(to)
      with_c_strings('to', to) do |array|
        with_send_options(mail_options, rcpt_options, dsn: dsn, requiretls: requiretls) do |options|
          with_bytes(message) do |body, size|
            start = ->(h) { Native.smtp_client_start_sendmail(h, from, array, to.size, body, size, options) }
            network(:sendmail, start, recipients_on_error: true) do |h|
              Native.smtp_client_sendmail(h, from, array, to.size, body, size, options)
            end
          end
        end
      end
      recipients
    end

    # smtplib's send_message(): a raw RFC 5322 message; from and to, when nil, are taken from
    # its headers (Sender/From; To, Cc, Bcc); Bcc is not transmitted. Options and results as
    # #sendmail.
    def send_message(message, from: nil, to: nil, mail_options: [], rcpt_options: [], dsn: nil, requiretls: false)
      from = SmtpClient.c_string('from', from) unless from.nil?
      with_c_strings('to', to || []) do |array|
        with_send_options(mail_options, rcpt_options, dsn: dsn, requiretls: requiretls) do |options|
          with_bytes(message) do |body, size|
            rcpts = to.nil? ? nil : array
            start = ->(h) { Native.smtp_client_start_send_message(h, body, size, from, rcpts, rcpts ? to.size : 0, options) }
            network(:send_message, start, recipients_on_error: true) do |h|
              Native.smtp_client_send_message(h, body, size, from, rcpts, rcpts ? to.size : 0, options)
            end
          end
        end
      end
      recipients
    end

    # The recipients refused by the last send.
    def refused
      locked_handle do |h|
        (0...Native.smtp_client_refused_count(h)).filter_map do |i|
          address = FFI::MemoryPointer.new(:pointer)
          code = FFI::MemoryPointer.new(:int32)
          text = FFI::MemoryPointer.new(:pointer)
          next unless Native.smtp_client_refused_get(h, i, address, code, text) == Native::RESULT_OK

          Refused.new(utf8(address.read_pointer.read_string), code.read_int32, utf8(text.read_pointer.read_string))
        end
      end
    end

    # Every recipient of the current or last transaction, in RCPT order.
    def recipients = locked_handle { |h| read_recipients(h) }

    # #sendmail with the message read in chunks, so a message of any size goes out in bounded
    # memory: from `body`, an IO-like object (anything with #read(length), returning nil at the
    # end: File, StringIO, a pipe), or from the block, called with the room left and returning
    # the next String, nil at the end. size_estimate (octets with CRLF line ends) is announced
    # as SIZE and checked against the server's limit before anything is sent. An exception
    # raised while reading aborts the send and is raised again here: before the transaction
    # nothing is sent, later the session is closed so that no partial message is delivered.
    def sendmail_stream(from, to, body = nil, size_estimate: nil, mail_options: [], rcpt_options: [], dsn: nil,
                        requiretls: false, &block)
      source = body || block
      raise ArgumentError, 'sendmail_stream needs a body (an IO-like) or a block' if source.nil?
      raise ArgumentError, 'sendmail_stream takes a body or a block, not both' if body && block

      from = SmtpClient.c_string('from', from)
      to = Array(to)
      reader = stream_reader(source) # referenced until the call returns; the library keeps nothing
      with_c_strings('to', to) do |array|
        with_send_options(mail_options, rcpt_options, size_estimate, dsn: dsn, requiretls: requiretls) do |options|
          call(:sendmail_stream, recipients_on_error: true) do |h|
            Native.smtp_client_sendmail_stream(h, from, array, to.size, reader, nil, options)
          end
        end
      end
      recipients
    end

    # smtplib's login with an OAuth 2.0 bearer token: mechanism :xoauth2 or :oauthbearer (RFC
    # 7628), which the server must advertise (else SmtpError with code SMTP_ERROR).
    def login_oauth(user, token, mechanism: :xoauth2)
      value = Native::OAUTH_MECHANISMS.fetch(mechanism) { raise ArgumentError, "unknown OAuth mechanism #{mechanism.inspect}" }
      user = SmtpClient.c_string('user', user)
      token = SmtpClient.c_string('token', token)
      call(:login_oauth) { |h| Native.smtp_client_login_oauth(h, value, user, token) }
    end

    # smtplib's low-level commands. Each returns the server's Reply whatever its code (the
    # caller decides what a 5xx means) and raises only when the call itself failed (connection
    # lost, a bad argument, the TLS policy). nil for a name or args means none.
    def docmd(cmd, args = nil)
      cmd = SmtpClient.c_string('cmd', cmd)
      args = SmtpClient.c_string('args', args) unless args.nil?
      command(:docmd) { |h| Native.smtp_client_docmd(h, cmd, args) }
    end

    def helo(name = nil)
      name = SmtpClient.c_string('name', name) unless name.nil?
      command(:helo) { |h| Native.smtp_client_helo(h, name) }
    end

    # EHLO (LHLO for LMTP); on 250 the extensions are parsed (#features).
    def ehlo(name = nil)
      name = SmtpClient.c_string('name', name) unless name.nil?
      command(:ehlo) { |h| Native.smtp_client_ehlo(h, name) }
    end

    def ehlo_or_helo_if_needed
      network(:ehlo_or_helo_if_needed, ->(h) { Native.smtp_client_start_ehlo_or_helo_if_needed(h) }) do |h|
        Native.smtp_client_ehlo_or_helo_if_needed(h)
      end
    end

    # MAIL FROM ('' is the null reverse-path); starts a new transaction.
    def mail(sender, options = [])
      sender = SmtpClient.c_string('sender', sender)
      with_c_strings('options', options) do |array|
        command(:mail) { |h| Native.smtp_client_mail(h, sender, array, options.size) }
      end
    end

    def rcpt(recipient, options = [])
      recipient = SmtpClient.c_string('recipient', recipient)
      with_c_strings('options', options) do |array|
        command(:rcpt) { |h| Native.smtp_client_rcpt(h, recipient, array, options.size) }
      end
    end

    # DATA, the message (line ends normalised, dot-stuffed), the end mark: the final Reply (for
    # LMTP each recipient's own reply is in #recipients). DataError when DATA is refused.
    def data(message)
      with_bytes(message) { |body, size| command(:data) { |h| Native.smtp_client_data(h, body, size) } }
    end

    def rset = command(:rset) { |h| Native.smtp_client_rset(h) }

    def verify(address)
      address = SmtpClient.c_string('address', address)
      command(:verify) { |h| Native.smtp_client_verify(h, address) }
    end

    def expn(address)
      address = SmtpClient.c_string('address', address)
      command(:expn) { |h| Native.smtp_client_expn(h, address) }
    end

    def help(args = nil)
      args = SmtpClient.c_string('args', args) unless args.nil?
      command(:help) { |h| Native.smtp_client_help(h, args) }
    end

    # smtplib's close(): the connection is closed without QUIT; the session stays usable
    # (#connect again) until #close frees it.
    def disconnect = call(:close) { |h| Native.smtp_client_close(h) }

    # Use PIPELINING / CHUNKING (BDAT) when offered (true, the default) or never.
    def pipelining=(use)
      call(:set_pipelining) { |h| Native.smtp_client_set_pipelining(h, use ? Native::EXTENSION_USE_WHEN_OFFERED : Native::EXTENSION_USE_NEVER) }
    end

    def chunking=(use)
      call(:set_chunking) { |h| Native.smtp_client_set_chunking(h, use ? Native::EXTENSION_USE_WHEN_OFFERED : Native::EXTENSION_USE_NEVER) }
    end

    # true allows credentials over a connection without TLS to any server (INSECURE).
    def cleartext_credentials=(allow)
      value = allow ? Native::CLEARTEXT_CREDENTIALS_ALLOW : Native::CLEARTEXT_CREDENTIALS_REFUSE
      call(:set_cleartext_credentials) { |h| Native.smtp_client_set_cleartext_credentials(h, value) }
    end

    # Whether a loopback or Unix-socket server is trusted with credentials without TLS (the default).
    def local_peer_trusted=(trusted)
      value = trusted ? Native::LOCAL_PEER_TRUSTED : Native::LOCAL_PEER_UNTRUSTED
      call(:set_local_peer) { |h| Native.smtp_client_set_local_peer(h, value) }
    end

    # The mechanisms #login may use, in order (%w[CRAM-MD5 PLAIN LOGIN] is smtplib's); nil: the
    # default, strongest first. UsageError for an unknown name.
    def login_mechanisms=(mechanisms)
      list = nil
      unless mechanisms.nil?
        mechanisms = Array(mechanisms)
        mechanisms.each_with_index do |m, i|
          raise ArgumentError, "mechanisms[#{i}] is not one mechanism name" if !m.is_a?(String) || m.empty? || m.match?(/[ ,]/)
        end
        list = SmtpClient.c_string('mechanisms', mechanisms.join(' '))
      end
      call(:set_login_mechanisms) { |h| Native.smtp_client_set_login_mechanisms(h, list) }
    end

    # Bind the local end before connecting (smtplib's source_address); nil host removes it.
    def set_source_address(host, port = 0)
      host = SmtpClient.c_string('host', host) unless host.nil?
      call(:set_source_address) { |h| Native.smtp_client_set_source_address(h, host, port) }
    end

    # smtplib's has_extn, does_esmtp, esmtp_features (lower-case keyword => parameters),
    # esmtp_features[name] (nil when not advertised), helo_resp and ehlo_resp (nil when none).
    def has_extn?(name)
      name = SmtpClient.c_string('name', name)
      locked_handle { |h| Native.smtp_client_has_extn(h, name) }
    end

    def esmtp? = locked_handle { |h| Native.smtp_client_does_esmtp(h) }

    def feature(name)
      name = SmtpClient.c_string('name', name)
      locked_handle { |h| optional_string(Native.smtp_client_feature(h, name)) }
    end

    def features
      locked_handle do |h|
        (0...Native.smtp_client_feature_count(h)).each_with_object({}) do |i, out|
          name = FFI::MemoryPointer.new(:pointer)
          params = FFI::MemoryPointer.new(:pointer)
          next unless Native.smtp_client_feature_get(h, i, name, params) == Native::RESULT_OK

          out[utf8(name.read_pointer.read_string)] = utf8(params.read_pointer.read_string)
        end
      end
    end

    def helo_resp = locked_handle { |h| optional_string(Native.smtp_client_helo_resp(h)) }
    def ehlo_resp = locked_handle { |h| optional_string(Native.smtp_client_ehlo_resp(h)) }

    def noop = call(:noop) { |h| Native.smtp_client_noop(h) }
    def quit = network(:quit, ->(h) { Native.smtp_client_start_quit(h) }) { |h| Native.smtp_client_quit(h) }

    def connected? = locked_handle { |h| Native.smtp_client_is_connected(h) }
    def authenticated? = locked_handle { |h| Native.smtp_client_is_authenticated(h) }
    def tls_active? = locked_handle { |h| Native.smtp_client_tls_active(h) }
    def tls_peer_verified? = locked_handle { |h| Native.smtp_client_tls_peer_verified(h) }
    def tls_version = locked_handle { |h| utf8(Native.smtp_client_tls_version(h)) }
    def tls_cipher = locked_handle { |h| utf8(Native.smtp_client_tls_cipher(h)) }
    def last_reply_code = locked_handle { |h| Native.smtp_client_last_reply_code(h) }
    def last_reply_text = locked_handle { |h| utf8(Native.smtp_client_last_reply_text(h)) }

    private

    def locked_handle
      @lock.synchronize do
        raise IOError, 'session is closed' if @pointer.nil?

        yield @pointer
      end
    end

    # One mutating call: under the session lock; an exception a callback raised during it is
    # raised again here; a failure becomes the SmtpError subclass of its code, with the detail
    # the session kept (copied: it is borrowed).
    def call(operation, recipients_on_error: false)
      locked_handle do |h|
        @callback_exception = nil
        rc = yield h
        raised = @callback_exception
        @callback_exception = nil
        raise raised if raised
        raise failure(h, operation, rc, recipients_on_error) unless rc == Native::RESULT_OK
      end
      nil
    end

    # A network call: the blocking C call (the block), or, in a non-blocking fiber under a
    # Fiber scheduler, `start` (its smtp_client_start_* form) driven to its end by #drive.
    def network(operation, start, recipients_on_error: false, &blocking)
      return call(operation, recipients_on_error: recipients_on_error, &blocking) unless fiber_scheduled?

      call(operation, recipients_on_error: recipients_on_error) { |h| drive(h, start.call(h)) }
    end

    def fiber_scheduled? = !Fiber.scheduler.nil? && !Fiber.current.blocking?

    # Wait for what the operation in progress waits for (through the scheduler's io_wait),
    # step it, until it ends: its result code. Cancelled (the connection closed) when an
    # exception interrupts the wait.
    def drive(handle, code)
      while code == Native::RESULT_IN_PROGRESS
        wait_for_events(handle)
        code = Native.smtp_client_step(handle)
      end
      code
    ensure
      Native.smtp_client_close(handle) if Native.smtp_client_in_progress(handle)
    end

    def wait_for_events(handle)
      events = Native.smtp_client_events(handle)
      fd = Native.smtp_client_fd(handle)
      return if fd.negative? || (events & (Native::EVENT_READ | Native::EVENT_WRITE)).zero?

      ms = Native.smtp_client_timeout_ms(handle)
      timeout = ms.negative? ? nil : ms / 1000.0
      # The library owns the descriptor: this IO never closes it.
      io = IO.for_fd(fd, autoclose: false)
      (events & Native::EVENT_READ).zero? ? io.wait_writable(timeout) : io.wait_readable(timeout)
    end

    def failure(handle, operation, code, with_recipients)
      klass = SmtpClient.error_class_for(code)
      sender = Native.smtp_client_last_error_sender(handle)
      klass.new(code: code,
                description: "#{operation}: #{utf8(Native.smtp_client_last_error_message(handle))}",
                reply_code: Native.smtp_client_last_error_reply_code(handle),
                reply_text: utf8(Native.smtp_client_last_error_reply_text(handle)),
                enhanced_status: read_enhanced_status { |c, s, d| Native.smtp_client_last_error_enhanced_status(handle, c, s, d) },
                errno: Native.smtp_client_last_os_error(handle),
                sender: sender.null? ? nil : utf8(sender.read_string),
                callback_value: Native.smtp_client_last_callback_value(handle),
                recipients: with_recipients ? read_recipients(handle) : [])
    end

    def read_recipients(handle)
      (0...Native.smtp_client_recipient_count(handle)).filter_map do |i|
        address = FFI::MemoryPointer.new(:pointer)
        rcpt_code = FFI::MemoryPointer.new(:int32)
        data_code = FFI::MemoryPointer.new(:int32)
        text = FFI::MemoryPointer.new(:pointer)
        next unless Native.smtp_client_recipient_get(handle, i, address, rcpt_code, data_code, text) == Native::RESULT_OK

        Recipient.new(utf8(address.read_pointer.read_string), rcpt_code.read_int32, data_code.read_int32,
                      utf8(text.read_pointer.read_string),
                      read_enhanced_status { |c, s, d| Native.smtp_client_recipient_enhanced_status(handle, i, c, s, d) })
      end
    end

    def read_enhanced_status
      parts = Array.new(3) { FFI::MemoryPointer.new(:int32) }
      return nil unless yield(*parts)

      EnhancedStatus.new(*parts.map(&:read_int32))
    end

    def auth_step(step, challenge, is_initial, tls_active, response)
      answer = step.call(challenge, tls_active)
      return Native::AUTH_STEP_NO_INITIAL_RESPONSE if answer == :no_initial_response && is_initial
      raise ArgumentError, "the auth block returned #{answer.class}, not a String" unless answer.is_a?(String)

      bytes = answer.b
      buffer = FFI::MemoryPointer.new(:uint8, [bytes.bytesize, 1].max)
      buffer.put_bytes(0, bytes)
      rc = Native.smtp_auth_response_set(response, buffer, bytes.bytesize)
      buffer.clear # wipe our copy: the library has its own
      rc == Native::RESULT_OK ? Native::AUTH_STEP_RESPOND : Native::AUTH_STEP_ABORT
    end

    def with_c_strings(name, values)
      pointers = values.each_with_index.map do |value, i|
        FFI::MemoryPointer.from_string(SmtpClient.c_string("#{name}[#{i}]", value))
      end
      array = FFI::MemoryPointer.new(:pointer, [pointers.size, 1].max)
      array.write_array_of_pointer(pointers) unless pointers.empty?
      yield array
    end

    def with_bytes(message)
      bytes = message.b
      buffer = FFI::MemoryPointer.new(:uint8, [bytes.bytesize, 1].max)
      buffer.put_bytes(0, bytes)
      yield buffer, bytes.bytesize
    end

    # Seconds (nil: none) as the library's milliseconds (0: none).
    def timeout_ms(seconds)
      return 0 if seconds.nil?
      raise ArgumentError, "a timeout is a number of seconds, not #{seconds.class}" unless seconds.is_a?(Numeric)

      ms = (seconds * 1000).round
      raise ArgumentError, 'a timeout must be between 0.001 and 4294967 seconds (nil: none)' unless ms.between?(1, 0xffff_ffff)

      ms
    end

    def with_send_options(mail_options, rcpt_options, size_estimate = nil, dsn: nil, requiretls: false)
      if mail_options.empty? && rcpt_options.empty? && size_estimate.nil? && dsn.nil? && !requiretls
        return yield nil
      end

      options = Native.smtp_send_options_new
      raise NoMemoryError, 'smtp_send_options_new failed' if options.null?

      begin
        add_options(options, 'mail_options', mail_options) { |o, s| Native.smtp_send_options_add_mail_option(o, s) }
        add_options(options, 'rcpt_options', rcpt_options) { |o, s| Native.smtp_send_options_add_rcpt_option(o, s) }
        set_size_estimate(options, size_estimate) unless size_estimate.nil?
        set_dsn(options, **dsn) unless dsn.nil?
        check_option('requiretls', Native.smtp_send_options_set_requiretls(options, true)) if requiretls
        yield options
      ensure
        Native.smtp_send_options_free(options)
      end
    end

    def add_options(options, name, values)
      values.each_with_index do |value, i|
        rc = yield options, SmtpClient.c_string("#{name}[#{i}]", value)
        next if rc == Native::RESULT_OK

        raise SmtpClient.error_class_for(rc).new(code: rc, description: "#{name}[#{i}]: #{Native.smtp_result_str(rc)}")
      end
    end

    # dsn: of #sendmail: ret: (:full, :hdrs), envid: (String), notify: ({ recipient => :never,
    # or one or several of :success, :failure, :delay }), orcpt: ({ recipient => address }),
    # policy: (:require, the default, or :optional).
    def set_dsn(options, ret: nil, envid: nil, notify: {}, orcpt: {}, policy: nil)
      unless ret.nil?
        value = Native::DSN_RETS.fetch(ret) { raise ArgumentError, "unknown dsn ret #{ret.inspect} (:full, :hdrs)" }
        check_option('dsn ret', Native.smtp_send_options_set_dsn_ret(options, value))
      end
      unless envid.nil?
        check_option('dsn envid', Native.smtp_send_options_set_dsn_envid(options, SmtpClient.c_string('dsn envid', envid)))
      end
      notify.each do |recipient, flags|
        mask = Array(flags).sum do |flag|
          Native::DSN_NOTIFY.fetch(flag) do
            raise ArgumentError, "unknown dsn notify flag #{flag.inspect} (#{Native::DSN_NOTIFY.keys.join(', ')})"
          end
        end
        rcpt = SmtpClient.c_string('dsn notify recipient', recipient)
        check_option("dsn notify for #{recipient}", Native.smtp_send_options_set_dsn_notify(options, rcpt, mask))
      end
      orcpt.each do |recipient, original|
        rcpt = SmtpClient.c_string('dsn orcpt recipient', recipient)
        original = SmtpClient.c_string('dsn orcpt', original)
        check_option("dsn orcpt for #{recipient}", Native.smtp_send_options_set_dsn_orcpt(options, rcpt, original))
      end
      return if policy.nil?

      value = Native::DSN_POLICIES.fetch(policy) { raise ArgumentError, "unknown dsn policy #{policy.inspect} (:require, :optional)" }
      check_option('dsn policy', Native.smtp_send_options_set_dsn_policy(options, value))
    end

    def check_option(name, rc)
      return if rc == Native::RESULT_OK

      raise SmtpClient.error_class_for(rc).new(code: rc, description: "#{name}: #{Native.smtp_result_str(rc)}")
    end

    def set_size_estimate(options, size)
      raise ArgumentError, "size_estimate must be an Integer, not #{size.class}" unless size.is_a?(Integer)

      rc = Native.smtp_send_options_set_size_estimate(options, size)
      return if rc == Native::RESULT_OK

      raise SmtpClient.error_class_for(rc).new(code: rc, description: "size_estimate: #{Native.smtp_result_str(rc)}")
    end

    # A low-level command: under #call, then the last reply whatever its code.
    def command(operation, &block)
      locked_handle do |h|
        call(operation, &block)
        Reply.new(Native.smtp_client_last_reply_code(h), utf8(Native.smtp_client_last_reply_text(h)))
      end
    end

    def optional_string(pointer) = pointer.null? ? nil : utf8(pointer.read_string)

    # The smtp_read_callback of #sendmail_stream: `source` is an IO-like (#read(length)) or a
    # block (called with the room left, returns a String or nil at the end). A chunk larger
    # than the buffer is kept for the next call.
    def stream_reader(source)
      pending = ''.b
      FFI::Function.new(:int64, %i[pointer pointer size_t]) do |_userdata, buffer, capacity|
        if pending.empty?
          chunk = source.respond_to?(:read) ? source.read(capacity) : source.call(capacity)
          next 0 if chunk.nil? || chunk.empty?
          raise TypeError, "the body source returned #{chunk.class}, not a String" unless chunk.is_a?(String)

          pending = chunk.b
        end
        n = [pending.bytesize, capacity].min
        buffer.put_bytes(0, pending, 0, n)
        pending = pending.byteslice(n..)
        n
      rescue Exception => e # rubocop:disable Lint/RescueException -- nothing may unwind into C
        @callback_exception ||= e
        -1
      end
    end

    def utf8(string) = string.force_encoding(Encoding::UTF_8)
  end
end
