# frozen_string_literal: true

module SmtpClient
  # An RFC 3463 enhanced status code (class.subject.detail, e.g. 5.1.1).
  EnhancedStatus = Struct.new(:klass, :subject, :detail) do
    def to_s = "#{klass}.#{subject}.#{detail}"
  end

  # A failed library call. Every failure the library reports is an SmtpError, or the subclass
  # named after its result code's class in the library's hierarchy (smtp_result_is_a):
  #
  #   SmtpError
  #   ├── ServerDisconnected ── DeliveryUnknown
  #   ├── NotSupported ── TlsRequired
  #   ├── ResponseError ── SenderRefused, DataError, ConnectError, HeloError, AuthenticationError
  #   ├── RecipientsRefused
  #   ├── IoError ── TimeoutError
  #   ├── TlsError ── TlsCertificateError
  #   └── UsageError (invalid arguments, bad state: nothing was sent)
  #
  # Codes without a class of their own (e.g. SMTP_RESULT_CONNECTION_REFUSED, a kind of IoError)
  # raise the class of their nearest base; #is_a_result? asks the library's hierarchy directly.
  class SmtpError < StandardError
    # The result code (SMTP_RESULT_*), the library's description of this failure, the server
    # reply behind it (0 and "" when none), its enhanced status (nil when none), the OS errno
    # (0 when none), the refused sender of a SenderRefused (nil otherwise) and what a callback
    # returned when it aborted the call.
    attr_reader :code, :description, :reply_code, :reply_text, :enhanced_status, :errno, :sender,
                :callback_value
    # The per-recipient outcomes of a send that failed after RCPT (RecipientsRefused, DataError).
    attr_reader :recipients

    def initialize(code:, description:, reply_code: 0, reply_text: '', enhanced_status: nil, errno: 0,
                   sender: nil, callback_value: 0, recipients: [])
      @code = code
      @description = description
      @reply_code = reply_code
      @reply_text = reply_text
      @enhanced_status = enhanced_status
      @errno = errno
      @sender = sender
      @callback_value = callback_value
      @recipients = recipients
      super(build_message)
    end

    # The C constant's name, e.g. "SMTP_RESULT_SENDER_REFUSED".
    def result_name = Native.smtp_result_name(code)

    # Whether the code is `base` or a kind of it in the library's hierarchy, e.g.
    # error.is_a_result?(SmtpClient::Result::IO_ERROR).
    def is_a_result?(base) = Native.smtp_result_is_a(code, base) # rubocop:disable Naming/PredicateName

    # The errno as Ruby's exception class (Errno::ECONNREFUSED, ...), nil when none.
    def system_call_error
      SystemCallError.new(nil, errno) unless errno.zero?
    end

    private

    def build_message
      text = "#{result_name}: #{description}"
      # The library's message usually quotes the reply already.
      text += " (server said #{reply_code} #{reply_text})" if !reply_code.zero? && !description.include?(reply_text)
      text
    end
  end

  class ServerDisconnected < SmtpError; end
  class DeliveryUnknown < ServerDisconnected; end
  class NotSupported < SmtpError; end
  class TlsRequired < NotSupported; end
  class ResponseError < SmtpError; end
  class SenderRefused < ResponseError; end
  class DataError < ResponseError; end
  class ConnectError < ResponseError; end
  class HeloError < ResponseError; end
  class AuthenticationError < ResponseError; end
  class RecipientsRefused < SmtpError; end
  class IoError < SmtpError; end
  class TimeoutError < IoError; end
  class TlsError < SmtpError; end
  class TlsCertificateError < TlsError; end
  class UsageError < SmtpError; end

  # The result codes (smtp_result) this gem names.
  module Result
    OK = 0
    # Not an error: the C API's non-blocking calls (smtp_client_start_*, smtp_client_step)
    # return it while an operation runs. This gem's calls block (in Ruby threads), so none of
    # them returns it.
    IN_PROGRESS = 1
    SMTP_ERROR = 100
    SERVER_DISCONNECTED = 101
    NOT_SUPPORTED = 102
    RESPONSE_ERROR = 103
    SENDER_REFUSED = 104
    RECIPIENTS_REFUSED = 105
    DATA_ERROR = 106
    CONNECT_ERROR = 107
    HELO_ERROR = 108
    AUTHENTICATION_ERROR = 109
    DELIVERY_UNKNOWN = 110
    PROTOCOL_ERROR = 111
    MESSAGE_TOO_LARGE = 112
    CREDENTIALS_POLICY = 113
    TLS_REQUIRED = 114
    IO_ERROR = 200
    TIMEOUT = 201
    NAME_RESOLUTION = 202
    CONNECTION_REFUSED = 203
    HOST_UNREACHABLE = 204
    TLS_ERROR = 300
    TLS_CERTIFICATE = 301
    TLS_RECORD = 302
    INVALID_ARGUMENT = 400
    NULL_ARGUMENT = 401
    INVALID_UTF8 = 402
    BAD_STATE = 403
    BAD_HANDLE = 404
    REENTRANT_CALL = 405
    CALLBACK_ABORTED = 406
    CONCURRENT_CALL = 407
    PANIC = 900
  end

  # Each class with the code it stands for, the most specific first: the first whose code the
  # failure's code is a kind of (smtp_result_is_a) is raised.
  ERROR_CLASSES = [
    [Result::SENDER_REFUSED, SenderRefused],
    [Result::DATA_ERROR, DataError],
    [Result::CONNECT_ERROR, ConnectError],
    [Result::HELO_ERROR, HeloError],
    [Result::AUTHENTICATION_ERROR, AuthenticationError],
    [Result::RESPONSE_ERROR, ResponseError],
    [Result::RECIPIENTS_REFUSED, RecipientsRefused],
    [Result::DELIVERY_UNKNOWN, DeliveryUnknown],
    [Result::SERVER_DISCONNECTED, ServerDisconnected],
    [Result::TLS_REQUIRED, TlsRequired],
    [Result::NOT_SUPPORTED, NotSupported],
    [Result::TIMEOUT, TimeoutError],
    [Result::IO_ERROR, IoError],
    [Result::TLS_CERTIFICATE, TlsCertificateError],
    [Result::TLS_ERROR, TlsError],
    [Result::INVALID_ARGUMENT, UsageError]
  ].freeze

  # The exception class for a result code.
  def self.error_class_for(code)
    ERROR_CLASSES.each { |base, klass| return klass if Native.smtp_result_is_a(code, base) }
    SmtpError
  end
end
