# frozen_string_literal: true

require 'ffi'

module SmtpClient
  # The raw C API (the part of smtpclient.h this gem uses). Not part of the gem's interface.
  #
  # The library is loaded by its SONAME (libsmtpclient.so.0.2, what the runtime package ships),
  # found by the dynamic loader (LD_LIBRARY_PATH for a private prefix);
  # SMTPCLIENT_LIBRARY=/path/to/libsmtpclient.so.0.2 overrides it.
  #
  # Calls that may wait on the network are attached with blocking: true: they release the
  # global VM lock, so other Ruby threads run meanwhile. Callbacks the library makes during such
  # a call take the lock back before running Ruby code (ffi does this).
  module Native
    extend FFI::Library
    ffi_lib ENV.fetch('SMTPCLIENT_LIBRARY', 'libsmtpclient.so.0.2')

    callback :smtp_auth_callback, %i[pointer pointer size_t bool bool pointer], :int32
    callback :smtp_debug_callback, %i[pointer int32 pointer size_t], :void
    callback :smtp_read_callback, %i[pointer pointer size_t], :int64

    attach_function :smtp_lib_version, [], :string
    attach_function :smtp_lib_version_number, [], :uint32
    attach_function :smtp_result_name, [:int32], :string
    attach_function :smtp_result_str, [:int32], :string
    attach_function :smtp_result_is_a, %i[int32 int32], :bool

    attach_function :smtp_client_new, [:int32], :pointer
    attach_function :smtp_client_free, [:pointer], :void
    attach_function :smtp_client_set_timeout_ms, %i[pointer uint32], :int32
    attach_function :smtp_client_set_phase_timeout_ms, %i[pointer int32 uint32], :int32
    attach_function :smtp_client_set_rfc5321_timeouts, [:pointer], :int32
    attach_function :smtp_client_set_operation_timeout_ms, %i[pointer uint32], :int32
    attach_function :smtp_client_set_local_hostname, %i[pointer string], :int32
    attach_function :smtp_client_set_debuglevel, %i[pointer int32], :int32
    attach_function :smtp_client_set_debug_callback, %i[pointer smtp_debug_callback pointer pointer], :int32
    attach_function :smtp_client_set_tls_ca_file, %i[pointer string], :int32
    attach_function :smtp_client_set_tls_ca_dir, %i[pointer string], :int32
    attach_function :smtp_client_set_tls_client_cert, %i[pointer string string], :int32
    attach_function :smtp_client_set_tls_min_version, %i[pointer int32], :int32
    attach_function :smtp_client_set_tls_server_name, %i[pointer string], :int32
    attach_function :smtp_client_set_tls_verify, %i[pointer int32], :int32
    attach_function :smtp_client_set_tls_policy, %i[pointer int32], :int32
    attach_function :smtp_client_set_pipelining, %i[pointer int32], :int32
    attach_function :smtp_client_set_chunking, %i[pointer int32], :int32
    attach_function :smtp_client_set_cleartext_credentials, %i[pointer int32], :int32
    attach_function :smtp_client_set_local_peer, %i[pointer int32], :int32
    attach_function :smtp_client_set_login_mechanisms, %i[pointer string], :int32
    attach_function :smtp_client_set_source_address, %i[pointer string uint16], :int32
    attach_function :smtp_client_set_url, %i[pointer string], :int32

    attach_function :smtp_client_connect, %i[pointer string uint16], :int32, blocking: true
    attach_function :smtp_client_starttls, [:pointer], :int32, blocking: true
    attach_function :smtp_client_login, %i[pointer string string int32], :int32, blocking: true
    attach_function :smtp_client_auth, %i[pointer string smtp_auth_callback pointer int32], :int32,
                    blocking: true
    attach_function :smtp_auth_response_set, %i[pointer pointer size_t], :int32
    attach_function :smtp_client_sendmail, %i[pointer string pointer size_t pointer size_t pointer],
                    :int32, blocking: true
    attach_function :smtp_client_send_message, %i[pointer pointer size_t string pointer size_t pointer],
                    :int32, blocking: true
    attach_function :smtp_client_sendmail_stream, %i[pointer string pointer size_t smtp_read_callback pointer pointer],
                    :int32, blocking: true
    attach_function :smtp_client_login_oauth, %i[pointer int32 string string], :int32, blocking: true
    attach_function :smtp_client_noop, [:pointer], :int32, blocking: true
    attach_function :smtp_client_quit, [:pointer], :int32, blocking: true
    attach_function :smtp_client_close, [:pointer], :int32
    attach_function :smtp_client_docmd, %i[pointer string string], :int32, blocking: true
    attach_function :smtp_client_helo, %i[pointer string], :int32, blocking: true
    attach_function :smtp_client_ehlo, %i[pointer string], :int32, blocking: true
    attach_function :smtp_client_ehlo_or_helo_if_needed, [:pointer], :int32, blocking: true
    attach_function :smtp_client_mail, %i[pointer string pointer size_t], :int32, blocking: true
    attach_function :smtp_client_rcpt, %i[pointer string pointer size_t], :int32, blocking: true
    attach_function :smtp_client_data, %i[pointer pointer size_t], :int32, blocking: true
    attach_function :smtp_client_rset, [:pointer], :int32, blocking: true
    attach_function :smtp_client_verify, %i[pointer string], :int32, blocking: true
    attach_function :smtp_client_expn, %i[pointer string], :int32, blocking: true
    attach_function :smtp_client_help, %i[pointer string], :int32, blocking: true

    # The non-blocking calls (used under a Fiber scheduler): none of them waits, so they keep
    # the VM lock.
    attach_function :smtp_client_start_connect, %i[pointer string uint16], :int32
    attach_function :smtp_client_start_ehlo_or_helo_if_needed, [:pointer], :int32
    attach_function :smtp_client_start_starttls, [:pointer], :int32
    attach_function :smtp_client_start_login, %i[pointer string string int32], :int32
    attach_function :smtp_client_start_sendmail, %i[pointer string pointer size_t pointer size_t pointer], :int32
    attach_function :smtp_client_start_send_message, %i[pointer pointer size_t string pointer size_t pointer], :int32
    attach_function :smtp_client_start_quit, [:pointer], :int32
    attach_function :smtp_client_step, [:pointer], :int32
    attach_function :smtp_client_fd, [:pointer], :int
    attach_function :smtp_client_events, [:pointer], :uint32
    attach_function :smtp_client_timeout_ms, [:pointer], :int64
    attach_function :smtp_client_in_progress, [:pointer], :bool

    attach_function :smtp_send_options_new, [], :pointer
    attach_function :smtp_send_options_free, [:pointer], :void
    attach_function :smtp_send_options_add_mail_option, %i[pointer string], :int32
    attach_function :smtp_send_options_add_rcpt_option, %i[pointer string], :int32
    attach_function :smtp_send_options_set_size_estimate, %i[pointer int64], :int32
    attach_function :smtp_send_options_set_dsn_ret, %i[pointer int32], :int32
    attach_function :smtp_send_options_set_dsn_envid, %i[pointer string], :int32
    attach_function :smtp_send_options_set_dsn_notify, %i[pointer string uint32], :int32
    attach_function :smtp_send_options_set_dsn_orcpt, %i[pointer string string], :int32
    attach_function :smtp_send_options_set_dsn_policy, %i[pointer int32], :int32
    attach_function :smtp_send_options_set_requiretls, %i[pointer bool], :int32

    attach_function :smtp_client_has_extn, %i[pointer string], :bool
    attach_function :smtp_client_feature, %i[pointer string], :pointer
    attach_function :smtp_client_feature_count, [:pointer], :size_t
    attach_function :smtp_client_feature_get, %i[pointer size_t pointer pointer], :int32
    attach_function :smtp_client_does_esmtp, [:pointer], :bool
    attach_function :smtp_client_helo_resp, [:pointer], :pointer
    attach_function :smtp_client_ehlo_resp, [:pointer], :pointer

    attach_function :smtp_client_is_connected, [:pointer], :bool
    attach_function :smtp_client_is_authenticated, [:pointer], :bool
    attach_function :smtp_client_refused_count, [:pointer], :size_t
    attach_function :smtp_client_refused_get, %i[pointer size_t pointer pointer pointer], :int32
    attach_function :smtp_client_recipient_count, [:pointer], :size_t
    attach_function :smtp_client_recipient_get, %i[pointer size_t pointer pointer pointer pointer], :int32
    attach_function :smtp_client_recipient_enhanced_status, %i[pointer size_t pointer pointer pointer], :bool
    attach_function :smtp_client_last_error_message, [:pointer], :string
    attach_function :smtp_client_last_error_reply_code, [:pointer], :int32
    attach_function :smtp_client_last_error_reply_text, [:pointer], :string
    attach_function :smtp_client_last_error_enhanced_status, %i[pointer pointer pointer pointer], :bool
    attach_function :smtp_client_last_error_sender, [:pointer], :pointer
    attach_function :smtp_client_last_os_error, [:pointer], :int32
    attach_function :smtp_client_last_callback_value, [:pointer], :int32
    attach_function :smtp_client_last_reply_code, [:pointer], :int32
    attach_function :smtp_client_last_reply_text, [:pointer], :string
    attach_function :smtp_client_tls_active, [:pointer], :bool
    attach_function :smtp_client_tls_peer_verified, [:pointer], :bool
    attach_function :smtp_client_tls_version, [:pointer], :string
    attach_function :smtp_client_tls_cipher, [:pointer], :string

    # Values from smtpclient.h.
    RESULT_OK = 0
    RESULT_IN_PROGRESS = 1
    # smtp_phase
    PHASES = { connect: 0, tls_handshake: 1, greeting: 2, ehlo: 3, mail: 4, rcpt: 5, data: 6,
               data_block: 7, data_end: 8, other: 9 }.freeze
    # smtp_dsn_ret, smtp_dsn_notify, smtp_dsn_policy
    DSN_RETS = { full: 1, hdrs: 2 }.freeze
    DSN_NOTIFY = { success: 1, failure: 2, delay: 4, never: 8 }.freeze
    DSN_POLICIES = { require: 0, optional: 1 }.freeze
    EVENT_READ = 1
    EVENT_WRITE = 2
    EVENT_BODY = 4
    AUTH_STEP_RESPOND = 0
    AUTH_STEP_NO_INITIAL_RESPONSE = 1
    AUTH_STEP_ABORT = -1
    INITIAL_RESPONSE_SEND = 0
    INITIAL_RESPONSE_WAIT = 1
    EXTENSION_USE_WHEN_OFFERED = 0
    EXTENSION_USE_NEVER = 1
    CLEARTEXT_CREDENTIALS_REFUSE = 0
    CLEARTEXT_CREDENTIALS_ALLOW = 1
    LOCAL_PEER_TRUSTED = 0
    LOCAL_PEER_UNTRUSTED = 1
    OAUTH_MECHANISMS = { xoauth2: 0, oauthbearer: 1 }.freeze
  end
end
