// RevocationSet lookups and CRL form checks on certificates and CRLs built
// in memory. Lookups read only issuer names and serials, so nothing here is
// signed.

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tls/handles.hpp"
#include "tls/revocation.hpp"

namespace sanctum::tls {
namespace {

struct Asn1IntegerFree {
  void operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
};
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Asn1IntegerFree>;

// An INTEGER with exactly these content bytes, leading zeros kept.
Asn1IntegerPtr integer_of(std::vector<unsigned char> bytes, bool negative = false) {
  Asn1IntegerPtr integer(ASN1_INTEGER_new());
  ASN1_STRING_set(integer.get(), bytes.data(), static_cast<int>(bytes.size()));
  if (negative) {
    integer->type = V_ASN1_NEG_INTEGER;
  }
  return integer;
}

X509NamePtr name_of(const std::string& common_name) {
  X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return name;
}

X509Ptr cert_of(const std::string& issuer, std::vector<unsigned char> serial) {
  X509Ptr cert(X509_new());
  X509_set_issuer_name(cert.get(), name_of(issuer).get());
  X509_set_serialNumber(cert.get(), integer_of(std::move(serial)).get());
  return cert;
}

X509CrlPtr crl_of(const std::string& issuer, std::vector<std::vector<unsigned char>> serials) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), name_of(issuer).get());
  for (auto& serial : serials) {
    X509_REVOKED* entry = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(entry, integer_of(std::move(serial)).get());
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  return crl;
}

TEST(SerialNumber, IgnoresLeadingZeroBytes) {
  auto padded = integer_of({0x00, 0x00, 0x8f, 0x01});
  auto minimal = integer_of({0x8f, 0x01});
  EXPECT_EQ(serial_number_of(padded.get()), serial_number_of(minimal.get()));
  EXPECT_EQ(serial_number_of(padded.get()).magnitude.size(), 2u);
}

TEST(SerialNumber, KeepsSignAndInnerZeros) {
  auto positive = integer_of({0x01, 0x00});
  auto negative = integer_of({0x01, 0x00}, true);
  auto shorter = integer_of({0x01});
  EXPECT_NE(serial_number_of(positive.get()), serial_number_of(negative.get()));
  EXPECT_NE(serial_number_of(positive.get()), serial_number_of(shorter.get()));
}

TEST(SerialNumber, ZeroIsNeverNegative) {
  auto zero = integer_of({0x00});
  auto negative_zero = integer_of({0x00}, true);
  EXPECT_EQ(serial_number_of(zero.get()), serial_number_of(negative_zero.get()));
  EXPECT_FALSE(serial_number_of(negative_zero.get()).negative);
}

TEST(RevocationSet, MatchesSerialUnderSameIssuer) {
  RevocationSet set;
  set.add(crl_of("root", {{0x0a}, {0x8f, 0x01}}).get());

  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x8f, 0x01}).get()));
  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x0a}).get()));
  EXPECT_FALSE(set.is_revoked(cert_of("root", {0x0b}).get()));
  EXPECT_FALSE(set.is_revoked(cert_of("intermediate", {0x0a}).get()));
  EXPECT_EQ(set.size(), 2u);
}

TEST(RevocationSet, MatchesSerialWithLeadingZero) {
  RevocationSet set;
  set.add(crl_of("root", {{0x00, 0x8f, 0x01}, {0x7f}}).get());

  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x8f, 0x01}).get()));
  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x00, 0x00, 0x7f}).get()));
}

TEST(RevocationSet, MergesCrlsOfOneIssuer) {
  RevocationSet set;
  set.add(crl_of("root", {{0x01}, {0x02}}).get());
  set.add(crl_of("root", {{0x02}, {0x03}}).get());
  set.add(crl_of("intermediate", {{0x01}}).get());

  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x01}).get()));
  EXPECT_TRUE(set.is_revoked(cert_of("root", {0x03}).get()));
  EXPECT_TRUE(set.is_revoked(cert_of("intermediate", {0x01}).get()));
  EXPECT_FALSE(set.is_revoked(cert_of("intermediate", {0x02}).get()));
  EXPECT_EQ(set.size(), 4u);
}

TEST(RevocationSet, FindsIssuersWithCrl) {
  RevocationSet set;
  set.add(crl_of("root", {}).get());

  EXPECT_TRUE(set.has_crl_for(cert_of("root", {0x01}).get()));
  EXPECT_FALSE(set.has_crl_for(cert_of("intermediate", {0x01}).get()));
  EXPECT_FALSE(set.is_revoked(cert_of("root", {0x01}).get()));
  EXPECT_EQ(set.size(), 0u);
}

TEST(CrlForm, AcceptsPlainCrl) {
  auto crl = crl_of("root", {{0x01}});
  auto number = integer_of({0x05});
  X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0);
  EXPECT_TRUE(check_crl_is_complete(crl.get()).ok());
}

TEST(CrlForm, RejectsDeltaCrl) {
  auto crl = crl_of("root", {{0x01}});
  auto base = integer_of({0x04});
  X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0);
  auto checked = check_crl_is_complete(crl.get());
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("delta CRL"), std::string::npos)
      << checked.error().message;
}

TEST(CrlForm, RejectsIndirectCrl) {
  auto crl = crl_of("root", {{0x01}});
  ISSUING_DIST_POINT* point = ISSUING_DIST_POINT_new();
  point->indirectCRL = 1;
  X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point, point, 1, 0);
  ISSUING_DIST_POINT_free(point);
  auto checked = check_crl_is_complete(crl.get());
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("indirect CRL"), std::string::npos)
      << checked.error().message;
}

TEST(CrlForm, AcceptsScopedDistributionPoint) {
  auto crl = crl_of("root", {{0x01}});
  ISSUING_DIST_POINT* point = ISSUING_DIST_POINT_new();
  point->onlyuser = 1;
  X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point, point, 1, 0);
  ISSUING_DIST_POINT_free(point);
  EXPECT_TRUE(check_crl_is_complete(crl.get()).ok());
}

TEST(CrlForm, RejectsUnknownCriticalExtension) {
  auto crl = crl_of("root", {{0x01}});
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, reinterpret_cast<const unsigned char*>("\x05\x00"), 2);
  X509_EXTENSION* extension = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value);
  X509_CRL_add_ext(crl.get(), extension, -1);
  X509_EXTENSION_free(extension);
  ASN1_OCTET_STRING_free(value);
  ASN1_OBJECT_free(oid);
  auto checked = check_crl_is_complete(crl.get());
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("1.3.6.1.4.1.55555.1"), std::string::npos)
      << checked.error().message;
}

TEST(CrlForm, RejectsCriticalEntryExtension) {
  auto crl = crl_of("root", {});
  X509_REVOKED* entry = X509_REVOKED_new();
  X509_REVOKED_set_serialNumber(entry, integer_of({0x01}).get());
  GENERAL_NAMES* issuer = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  GENERAL_NAME_set0_value(name, GEN_DIRNAME, name_of("other CA").release());
  sk_GENERAL_NAME_push(issuer, name);
  X509_REVOKED_add1_ext_i2d(entry, NID_certificate_issuer, issuer, 1, 0);
  GENERAL_NAMES_free(issuer);
  X509_CRL_add0_revoked(crl.get(), entry);
  auto checked = check_crl_is_complete(crl.get());
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("an entry"), std::string::npos)
      << checked.error().message;
}

}  // namespace
}  // namespace sanctum::tls
