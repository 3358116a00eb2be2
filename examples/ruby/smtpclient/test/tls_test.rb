# frozen_string_literal: true

require_relative 'test_helper'

class TlsTest < Minitest::Test
  include TestBedHelpers

  def test_starttls_verifies_the_server
    smtp = connected_tls
    assert smtp.tls_active?
    assert smtp.tls_peer_verified?
    assert_match(/\ATLSv1\.[23]\z/, smtp.tls_version)
    refute_empty smtp.tls_cipher
  end

  # Without the test CA, the system store does not trust the server: TlsCertificateError, a
  # kind of TlsError.
  def test_untrusted_certificate_is_a_tls_certificate_error
    smtp = new_session
    smtp.connect(TestBed::HOST, TestBed::PORT)
    error = assert_raises(SmtpClient::TlsCertificateError) { smtp.starttls }
    assert_kind_of SmtpClient::TlsError, error
  end

  # policy: :required makes the first command that greets do STARTTLS.
  def test_required_policy_starts_tls_by_itself
    smtp = new_session(tls: { ca_file: TestBed::CA_FILE, policy: :required, min_version: :tls12 })
    smtp.connect(TestBed::HOST, TestBed::PORT)
    refute smtp.tls_active?
    smtp.login(TestBed::USER, TestBed::PASSWORD)
    assert smtp.tls_active?
  end

  def test_a_missing_ca_file_is_refused_at_once
    error = assert_raises(SmtpClient::UsageError) { new_session(tls: { ca_file: '/nonexistent/ca.crt' }) }
    assert_equal Errno::ENOENT::Errno, error.errno
    assert_raises(ArgumentError) { new_session(tls: { policy: :sometimes }) }
  end
end
