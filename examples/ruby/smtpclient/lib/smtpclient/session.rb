# frozen_string_literal: true

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

    # kind: :smtp, :smtps (TLS from the first byte) or :lmtp. timeout: seconds for each network
    # operation (nil: the library's default). tls: see #configure_tls.
    def initialize(kind: :smtp, timeout: nil, local_hostname: nil, tls: nil)
      code = KINDS.fetch(kind) { raise ArgumentError, "unknown session kind #{kind.inspect} (#{KINDS.keys.join(', ')})" }
      raw = Native.smtp_client_new(code)
      raise NoMemoryError, 'smtp_client_new failed' if raw.null?

      @pointer = FFI::AutoPointer.new(raw, Native.method(:smtp_client_free))
      @lock = Monitor.new
      @debug_callback = nil # the FFI::Function C may call: kept alive as long as the session
      self.timeout = timeout if timeout
      self.local_hostname = local_hostname if local_hostname
      configure_tls(**tls) if tls
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
    # host starting with "/" is a Unix socket.
    def connect(host, port = 0)
      host = SmtpClient.c_string('host', host)
      call(:connect) { |h| Native.smtp_client_connect(h, host, port) }
      self
    end

    def starttls = call(:starttls) { |h| Native.smtp_client_starttls(h) }

    # smtplib's login(): the best mechanism both sides support.
    def login(user, password, initial_response: true)
      user = SmtpClient.c_string('user', user)
      password = SmtpClient.c_string('password', password)
      mode = initial_response ? Native::INITIAL_RESPONSE_SEND : Native::INITIAL_RESPONSE_WAIT
      call(:login) { |h| Native.smtp_client_login(h, user, password, mode) }
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
    def sendmail(from, to, message, mail_options: [], rcpt_options: [])
      from = SmtpClient.c_string('from', from)
      to = Array(to)
      with_c_strings('to', to) do |array|
        with_send_options(mail_options, rcpt_options) do |options|
          with_bytes(message) do |body, size|
            call(:sendmail, recipients_on_error: true) do |h|
              Native.smtp_client_sendmail(h, from, array, to.size, body, size, options)
            end
          end
        end
      end
      recipients
    end

    # smtplib's send_message(): a raw RFC 5322 message; from and to, when nil, are taken from
    # its headers (Sender/From; To, Cc, Bcc); Bcc is not transmitted. Returns as #sendmail.
    def send_message(message, from: nil, to: nil, mail_options: [], rcpt_options: [])
      from = SmtpClient.c_string('from', from) unless from.nil?
      with_c_strings('to', to || []) do |array|
        with_send_options(mail_options, rcpt_options) do |options|
          with_bytes(message) do |body, size|
            call(:send_message, recipients_on_error: true) do |h|
              Native.smtp_client_send_message(h, body, size, from, to.nil? ? nil : array, to.nil? ? 0 : to.size, options)
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

    def noop = call(:noop) { |h| Native.smtp_client_noop(h) }
    def quit = call(:quit) { |h| Native.smtp_client_quit(h) }

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

    def with_send_options(mail_options, rcpt_options)
      return yield nil if mail_options.empty? && rcpt_options.empty?

      options = Native.smtp_send_options_new
      raise NoMemoryError, 'smtp_send_options_new failed' if options.null?

      begin
        add_options(options, 'mail_options', mail_options) { |o, s| Native.smtp_send_options_add_mail_option(o, s) }
        add_options(options, 'rcpt_options', rcpt_options) { |o, s| Native.smtp_send_options_add_rcpt_option(o, s) }
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

    def utf8(string) = string.force_encoding(Encoding::UTF_8)
  end
end
