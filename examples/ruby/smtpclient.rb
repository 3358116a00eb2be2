# smtpclient.rb: a small Ruby binding of libsmtpclient with the ffi library (Debian: ruby-ffi).
#
# Copy this file into your project. The library is loaded by its SONAME (libsmtpclient.so.0.2,
# what the runtime package ships), found by the dynamic loader (LD_LIBRARY_PATH for a private
# prefix); SMTPCLIENT_LIBRARY=/path/to/libsmtpclient.so.0.2 overrides it.
#
# Rules this binding follows, and that code extending it must follow too:
# - A Session owns its C handle: Session#close frees it, and a forgotten session is freed by
#   the garbage collector (FFI::AutoPointer). A Session must not be used by two threads at once.
# - Every string argument goes through SmtpClient.c_string, which raises ArgumentError naming
#   the argument when the string holds a NUL byte (C would read it only up to the NUL), before
#   any C call.
# - Strings the library returns are borrowed from the session: they are copied into Ruby
#   strings at once (the :string return type and read_string copy).
# - The AUTH callback is an FFI::Function kept in the Session (@callbacks) for the session's
#   whole life, so the garbage collector can never free code that C might call. It runs on the
#   calling thread, inside smtp_client_auth, and never lets an exception escape into C: it rescues,
#   cancels the exchange and Session#auth re-raises once the library has returned.

require 'ffi'

module SmtpClient
  # The raw C API (the part of smtpclient.h this binding uses).
  module C
    extend FFI::Library
    ffi_lib ENV.fetch('SMTPCLIENT_LIBRARY', 'libsmtpclient.so.0.2')

    # int32_t (*smtp_auth_callback)(void *userdata, const uint8_t *challenge, size_t len,
    #                               bool is_initial, bool tls_active, smtp_auth_response *response)
    callback :smtp_auth_callback, %i[pointer pointer size_t bool bool pointer], :int32

    attach_function :smtp_lib_version, [], :string
    attach_function :smtp_lib_version_number, [], :uint32
    attach_function :smtp_result_name, [:int32], :string
    attach_function :smtp_result_is_a, %i[int32 int32], :bool
    attach_function :smtp_client_new, [:int32], :pointer
    attach_function :smtp_client_free, [:pointer], :void
    attach_function :smtp_client_set_timeout_ms, %i[pointer uint32], :int32
    attach_function :smtp_client_set_tls_ca_file, %i[pointer string], :int32
    # Network calls release Ruby's global VM lock (blocking: true) so other threads can run.
    attach_function :smtp_client_connect, %i[pointer string uint16], :int32, blocking: true
    attach_function :smtp_client_starttls, [:pointer], :int32, blocking: true
    attach_function :smtp_client_login, %i[pointer string string int32], :int32, blocking: true
    attach_function :smtp_client_auth, %i[pointer string smtp_auth_callback pointer int32], :int32
    attach_function :smtp_auth_response_set, %i[pointer pointer size_t], :int32
    attach_function :smtp_client_sendmail,
                    %i[pointer string pointer size_t pointer size_t pointer],
                    :int32, blocking: true
    attach_function :smtp_client_noop, [:pointer], :int32, blocking: true
    attach_function :smtp_client_quit, [:pointer], :int32, blocking: true
    attach_function :smtp_client_refused_count, [:pointer], :size_t
    attach_function :smtp_client_refused_get, %i[pointer size_t pointer pointer pointer], :int32
    attach_function :smtp_client_last_error_message, [:pointer], :string
    attach_function :smtp_client_last_error_reply_code, [:pointer], :int32
    attach_function :smtp_client_last_error_reply_text, [:pointer], :string
    attach_function :smtp_client_last_reply_code, [:pointer], :int32
    attach_function :smtp_client_last_reply_text, [:pointer], :string
    attach_function :smtp_client_tls_active, [:pointer], :bool
    attach_function :smtp_client_tls_peer_verified, [:pointer], :bool
    attach_function :smtp_client_tls_version, [:pointer], :string
    attach_function :smtp_client_tls_cipher, [:pointer], :string
  end

  # Values from smtpclient.h.
  KIND_SMTP = 0
  RESULT_OK = 0
  AUTH_STEP_RESPOND = 0
  AUTH_STEP_NO_INITIAL_RESPONSE = 1
  AUTH_STEP_ABORT = -1
  # The ABI this binding was written for: libsmtpclient 0.2.x.
  ABI_VERSION_NUMBER = 200
  INITIAL_RESPONSE_SEND = 0
  INITIAL_RESPONSE_WAIT = 1

  def self.library_version
    C.smtp_lib_version
  end

  # The one check of a string argument before it reaches C, which would read it only up to its
  # first NUL byte: such a string is refused rather than silently cut short. The message names
  # the argument, never its value (it may be a password). Anything but a String is left to
  # ffi's own type check.
  def self.c_string(argument, value)
    offset = value.b.index("\0") if value.is_a?(String)
    return value if offset.nil?

    raise ArgumentError, "#{argument} contains a NUL byte at offset #{offset} (the C API would truncate it there)"
  end

  # A failed call: result code, its name, the library's message and the server's reply.
  class Error < StandardError
    attr_reader :code, :name, :reply_code, :reply_text

    def initialize(code, name, message, reply_code, reply_text)
      @code = code
      @name = name
      @reply_code = reply_code
      @reply_text = reply_text
      super(reply_code.zero? ? "#{name}: #{message}" : "#{name}: #{message} (server said #{reply_code} #{reply_text})")
    end

    # smtplib's exception hierarchy, e.g. is_a_result?(103) for SMTP_RESULT_RESPONSE_ERROR.
    def is_a_result?(base)
      C.smtp_result_is_a(@code, base)
    end
  end

  Refused = Struct.new(:address, :code, :text)

  class Session
    def initialize(kind = KIND_SMTP)
      raw = C.smtp_client_new(kind)
      raise ArgumentError, "smtp_client_new: unknown session kind #{kind}" if raw.null?

      @ptr = FFI::AutoPointer.new(raw, C.method(:smtp_client_free))
      @callbacks = [] # FFI::Function objects C may call: alive as long as the session
    end

    # Free the session now (closing the connection without QUIT). Idempotent.
    def close
      return if @ptr.nil?

      @ptr.free
      @ptr = nil
    end

    def timeout_ms=(ms)
      check(C.smtp_client_set_timeout_ms(handle, ms))
    end

    def tls_ca_file=(path)
      check(C.smtp_client_set_tls_ca_file(handle, SmtpClient.c_string('path', path)))
    end

    def connect(host, port)
      check(C.smtp_client_connect(handle, SmtpClient.c_string('host', host), port))
    end

    def starttls
      check(C.smtp_client_starttls(handle))
    end

    def login(user, password, initial_response_ok: true)
      check(C.smtp_client_login(handle, SmtpClient.c_string('user', user), SmtpClient.c_string('password', password),
                         initial_response_ok ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT))
    end

    # smtplib's auth(mechanism, authobject): the block gets (challenge, is_initial, tls_active)
    # and returns the response as a String, or :no_initial_response on the initial call.
    def auth(mechanism, initial_response_ok: true, &block)
      mechanism = SmtpClient.c_string('mechanism', mechanism)
      raised = nil
      callback = FFI::Function.new(:int32, %i[pointer pointer size_t bool bool pointer]) do |_ud, challenge, len, is_initial, tls_active, response|
        begin
          data = challenge.null? ? nil : challenge.read_bytes(len) # copy: borrowed for this call
          answer = block.call(data, is_initial, tls_active)
          if answer == :no_initial_response && is_initial
            AUTH_STEP_NO_INITIAL_RESPONSE
          else
            bytes = answer.to_s.b
            buf = FFI::MemoryPointer.new(:uint8, [bytes.bytesize, 1].max)
            buf.put_bytes(0, bytes)
            rc = C.smtp_auth_response_set(response, buf, bytes.bytesize)
            buf.clear # wipe our copy: the library has its own
            rc == RESULT_OK ? AUTH_STEP_RESPOND : AUTH_STEP_ABORT
          end
        rescue Exception => e # rubocop:disable Lint/RescueException -- nothing may unwind into C
          raised = e
          AUTH_STEP_ABORT
        end
      end
      @callbacks << callback
      rc = C.smtp_client_auth(handle, mechanism, callback, nil,
                              initial_response_ok ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT)
      raise raised if raised

      check(rc)
    end

    # smtplib's sendmail(): returns when at least one recipient accepted the message (see
    # #refused); raises Error when all were refused or the send failed.
    def sendmail(from, to, message)
      from = SmtpClient.c_string('from', from)
      strings = to.each_with_index.map do |addr, i|
        FFI::MemoryPointer.from_string(SmtpClient.c_string("to[#{i}]", addr))
      end
      array = FFI::MemoryPointer.new(:pointer, [strings.size, 1].max)
      array.write_array_of_pointer(strings) unless strings.empty?
      body = message.b
      buf = FFI::MemoryPointer.new(:uint8, [body.bytesize, 1].max)
      buf.put_bytes(0, body)
      check(C.smtp_client_sendmail(handle, from, array, strings.size, buf, body.bytesize, nil))
    end

    def refused
      (0...C.smtp_client_refused_count(handle)).filter_map do |i|
        addr = FFI::MemoryPointer.new(:pointer)
        code = FFI::MemoryPointer.new(:int32)
        text = FFI::MemoryPointer.new(:pointer)
        next unless C.smtp_client_refused_get(handle, i, addr, code, text) == RESULT_OK

        Refused.new(utf8(addr.read_pointer.read_string), code.read_int32, utf8(text.read_pointer.read_string))
      end
    end

    def noop
      check(C.smtp_client_noop(handle))
    end

    def quit
      check(C.smtp_client_quit(handle))
    end

    def tls_active? = C.smtp_client_tls_active(handle)
    def tls_peer_verified? = C.smtp_client_tls_peer_verified(handle)
    def tls_version = utf8(C.smtp_client_tls_version(handle))
    def tls_cipher = utf8(C.smtp_client_tls_cipher(handle))
    def last_reply_code = C.smtp_client_last_reply_code(handle)
    def last_reply_text = utf8(C.smtp_client_last_reply_text(handle))

    private

    def handle
      raise IOError, 'session is closed' if @ptr.nil?

      @ptr
    end

    def utf8(str)
      str.force_encoding(Encoding::UTF_8)
    end

    def check(rc)
      return if rc == RESULT_OK

      raise Error.new(rc, C.smtp_result_name(rc), utf8(C.smtp_client_last_error_message(handle)),
                      C.smtp_client_last_error_reply_code(handle),
                      utf8(C.smtp_client_last_error_reply_text(handle)))
    end
  end
end
