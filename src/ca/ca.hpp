#pragma once

// The local certificate authority behind `sanctum ca`: a root CA in a state
// folder, the server and client certificates it issues, an index of
// everything issued, a CRL, and CA rotation with an overlap period.
//
// Functions that change the state folder take an exclusive flock on
// index.json.lock for their whole run, so concurrent processes see a
// consistent index. Errors name the file involved and the next step.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace sanctum::ca {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

enum class KeyType { ecdsa_p256, ed25519, rsa_3072 };

enum class Role { client, server };

// The extendedKeyUsage of an issued certificate. `by_role` is clientAuth for
// clients and serverAuth for servers. The others let tests build
// certificates with the wrong purpose.
enum class ExtendedKeyUsage { by_role, client_auth, server_auth, both, none };

// CRL reason codes from RFC 5280 section 5.3.1 that an operator can choose.
// `unspecified` leaves the reasonCode extension out, as the RFC recommends.
enum class RevocationReason {
  unspecified,
  key_compromise,
  ca_compromise,
  affiliation_changed,
  superseded,
  cessation_of_operation,
  privilege_withdrawn,
};

// Default lifetimes, in days. Servers stay at or under 825 days because
// macOS 10.15 and iOS 13 reject TLS server certificates valid for longer.
inline constexpr int kDefaultCaDays = 3650;
inline constexpr int kDefaultClientDays = 365;
inline constexpr int kDefaultServerDays = 825;
// A CRL's nextUpdate is this many days after its lastUpdate.
inline constexpr int kCrlValidityDays = 30;

// Every file of a state folder. Build it with paths_for() or
// resolve_state_dir(); the layout is described in docs/ca.md.
struct CaPaths {
  std::filesystem::path dir;
  std::filesystem::path ca_cert;      // ca.crt, the current CA
  std::filesystem::path ca_key;       // ca.key
  std::filesystem::path old_ca_cert;  // ca-old.crt, only during a rotation
  std::filesystem::path old_ca_key;   // ca-old.key, only during a rotation
  std::filesystem::path ca_bundle;    // ca-bundle.crt: trust file; the current CA, plus the old one during a rotation
  std::filesystem::path server_cert;  // server.crt
  std::filesystem::path server_key;   // server.key
  std::filesystem::path clients_dir;  // clients/NAME.crt and clients/NAME.key
  std::filesystem::path servers_dir;  // servers/NAME.crt and .key for servers not named "server"
  std::filesystem::path index;        // index.json
  std::filesystem::path index_lock;   // index.json.lock, the flock target
  std::filesystem::path crl;          // crl.pem

  // The certificate and key file of NAME in ROLE. A server named "server"
  // uses server.crt and server.key; other servers use servers/NAME.*, and
  // clients use clients/NAME.*.
  std::filesystem::path cert_file(Role role, const std::string& name) const;
  std::filesystem::path key_file(Role role, const std::string& name) const;
  // The files that renew and rotate move the replaced certificate and key
  // to: the same name with ".prev" before the extension.
  std::filesystem::path previous_cert_file(Role role, const std::string& name) const;
  std::filesystem::path previous_key_file(Role role, const std::string& name) const;
};

// Builds the paths of the state folder `dir` without touching the disk.
CaPaths paths_for(const std::filesystem::path& dir);

// Picks the state folder: `flag` when given, else $SANCTUM_HOME when set and
// not empty, else ~/.sanctum/certs ($HOME, or the password database entry
// when $HOME is unset).
CaPaths resolve_state_dir(const std::optional<std::filesystem::path>& flag);

// Parsing and naming of the enums. Parse errors list the accepted values.
Result<KeyType> parse_key_type(std::string_view text);
Result<RevocationReason> parse_revocation_reason(std::string_view text);
std::string to_string(KeyType type);
std::string to_string(Role role);
std::string to_string(RevocationReason reason);

// Checks a certificate name: 1 to 64 letters, digits, '.', '_' or '-',
// starting with a letter or digit and not ending in ".prev". Names become
// file names, so anything else (slashes, spaces) is rejected.
Result<void> validate_name(std::string_view name);

// Checks a subjectAltName written as "DNS:host", "IP:address" or
// "URI:scheme:rest" and returns it in canonical form (IP addresses as
// inet_ntop prints them). The error quotes the value and the accepted forms.
Result<std::string> normalize_san(std::string_view text);

// Fails with a message naming the folder and `sanctum ca init` when ca.crt
// or ca.key is missing or unreadable.
Result<void> require_ca(const CaPaths& paths);

// A summary of one certificate file.
struct CertificateInfo {
  std::filesystem::path file;
  std::string subject_cn;
  std::string serial;  // lowercase hex without separators
  std::string sha256;  // lowercase hex of the DER encoding, without separators
  TimePoint not_before;
  TimePoint not_after;
};

// Reads the first certificate of a PEM file.
Result<CertificateInfo> read_certificate_info(const std::filesystem::path& file);

struct InitOptions {
  CaPaths paths;
  KeyType key_type = KeyType::ecdsa_p256;
  std::string common_name = "sanctum CA";
  int days = kDefaultCaDays;  // used when not_after is unset
  // Overrides for tests; unset means now minus five minutes (to absorb
  // clock skew between hosts) and now + days.
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
  bool force = false;  // replace an existing CA, index and CRL
};

// Creates the folder (0700), a self-signed CA (ca.key 0600, ca.crt 0644), an
// empty index.json and an empty crl.pem. Without `force` it fails, before
// writing anything, when ca.crt, ca.key or index.json already exists.
Result<CertificateInfo> init_ca(const InitOptions& options);

struct IssueOptions {
  CaPaths paths;
  std::string name;  // subject CN and file name; see validate_name()
  Role role = Role::client;
  KeyType key_type = KeyType::ecdsa_p256;
  // "DNS:x", "IP:x" or "URI:x" values. A server also gets IP:NAME when NAME
  // is an IPv4 address, else DNS:NAME. The server named "server" gets
  // DNS:localhost, IP:127.0.0.1 and IP:::1 instead when no SANs are given.
  std::vector<std::string> sans;
  std::optional<int> days;  // unset: kDefaultClientDays or kDefaultServerDays
  // Overrides for tests. Unset not_before is now minus five minutes; unset
  // not_after is now + days. Either way not_after is cut to the issuing
  // CA's notAfter.
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
  ExtendedKeyUsage extended_key_usage = ExtendedKeyUsage::by_role;
  // Issue a CA certificate (CA:TRUE, pathlen:0, keyCertSign and cRLSign)
  // instead of a leaf, to build an intermediate CA. `role` is then only
  // recorded in the index, and no extendedKeyUsage is added.
  bool intermediate_ca = false;
  // Issuing CA files; unset means paths.ca_cert and paths.ca_key.
  std::optional<std::filesystem::path> issuer_cert;
  std::optional<std::filesystem::path> issuer_key;
  // Output files; unset means paths.cert_file() and paths.key_file().
  std::optional<std::filesystem::path> cert_out;
  std::optional<std::filesystem::path> key_out;
  bool record_in_index = true;  // append an entry to paths.index
  bool force = false;           // replace existing output files
};

// One index.json entry: the facts about one issued certificate.
struct IndexEntry {
  std::string name;
  Role role = Role::client;
  std::string serial;  // lowercase hex
  std::string sha256;  // certificate fingerprint, lowercase hex
  TimePoint not_before;
  TimePoint not_after;
  bool revoked = false;  // "status": "valid" or "revoked"
  std::optional<TimePoint> revoked_at;
  RevocationReason reason = RevocationReason::unspecified;
  std::vector<std::string> sans;
  std::string ca;  // sha256 fingerprint of the issuing CA certificate
  KeyType key_type = KeyType::ecdsa_p256;
  std::string cert_file;  // path relative to the state folder, as first written
};

struct IssuedCert {
  IndexEntry entry;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  bool not_after_cut = false;  // not_after was cut to the CA's notAfter
};

// Generates a key and a certificate signed by the issuing CA, writes the key
// (0600) and certificate (0644) atomically, and appends an index entry. The
// random serial is 128 bits. Fails before writing when the name, a SAN or
// the dates are invalid, when an output file exists without `force`, or
// when the issuing CA is expired, not yet valid, or does not match its key.
Result<IssuedCert> issue(const IssueOptions& options);

// Reads index.json (a missing file is an empty index) in issue order.
// Fails when the state folder does not exist or the index is malformed.
Result<std::vector<IndexEntry>> list(const CaPaths& paths);

// Formats entries as a JSON array of objects with the index.json fields.
std::string entries_to_json(const std::vector<IndexEntry>& entries);

struct RevokeOptions {
  CaPaths paths;
  // A certificate name, which revokes every valid certificate of that name,
  // or a serial in hex (colons allowed) when no certificate has that name.
  std::string target;
  std::optional<Role> role;  // needed when a name is both a client and a server
  RevocationReason reason = RevocationReason::unspecified;
};

// Marks the matching certificates revoked in the index and writes a fresh
// crl.pem. Returns the entries revoked. Fails when nothing valid matches.
Result<std::vector<IndexEntry>> revoke(const RevokeOptions& options);

struct CrlInfo {
  std::uint64_t crl_number = 0;  // of the current CA's CRL
  TimePoint last_update;
  TimePoint next_update;
  std::size_t revoked_count = 0;  // entries in the current CA's CRL
};

// Writes crl.pem from the index: one CRL signed by the current CA, and
// during a rotation a second one signed by the old CA for the certificates
// it issued. Each CRL gets a new crlNumber and nextUpdate kCrlValidityDays
// after now.
Result<CrlInfo> write_crl(const CaPaths& paths);

struct RenewOptions {
  CaPaths paths;
  std::string name;
  std::optional<Role> role;  // needed when a name is both a client and a server
};

// Issues a new key and certificate for the newest valid certificate of NAME,
// with the same role, key type, SANs and lifetime, under the current CA. The
// replaced files move to the ".prev" names; the old certificate stays valid
// until it expires or is revoked.
Result<IssuedCert> renew(const RenewOptions& options);

// Renews every current certificate (the newest valid one per name and role)
// that has used more than two thirds of its lifetime at `now`.
Result<std::vector<IssuedCert>> renew_due(const CaPaths& paths, TimePoint now = Clock::now());

struct RotateOptions {
  CaPaths paths;
  KeyType key_type = KeyType::ecdsa_p256;
  // Unset: the old CA's common name with the date of the rotation, so the
  // two CAs have different subject names and CRL lookups stay unambiguous.
  std::optional<std::string> common_name;
  int days = kDefaultCaDays;
  std::vector<std::string> skip;  // names not to re-issue under the new CA
};

struct RotateResult {
  CertificateInfo new_ca;
  std::vector<IssuedCert> reissued;
};

// Starts a CA rotation. ca.crt and ca.key are copied to ca-old.*, a new CA
// replaces them, and ca-bundle.crt gets both CA certificates. Every current,
// unexpired certificate of the old CA whose name is not in `skip` is
// re-issued under the new CA, with the replaced files moved to the ".prev"
// names. Then crl.pem is rewritten. Fails when a rotation is in progress.
Result<RotateResult> rotate(const RotateOptions& options);

// Ends a rotation: ca-bundle.crt is rewritten with only the new CA, and
// ca-old.crt and ca-old.key are deleted. Fails, listing them, while a name has
// a valid, unexpired certificate from the old CA and none from the new one.
Result<void> rotate_finish(const CaPaths& paths, TimePoint now = Clock::now());

struct ExpiryStatus {
  std::string name;  // "ca" and "ca-old" for the CA certificates, "crl.pem"
  std::string kind;  // "ca", "client", "server" or "crl"
  std::string serial;
  TimePoint not_after;
  std::int64_t days_left = 0;  // whole days, negative once expired
  bool expired = false;
};

// Returns the CA certificates and every current certificate (the newest
// valid one per name and role, issued by a CA still trusted) that expire
// within `warn_within` of `now`, or have already expired.
Result<std::vector<ExpiryStatus>> check_expiry(const CaPaths& paths,
                                               std::chrono::hours warn_within,
                                               TimePoint now = Clock::now());

// Returns crl.pem's status when the earliest nextUpdate of its CRLs lies
// within `warn_within` of `now` or has passed: `not_after` is that
// nextUpdate. Nothing when it is further away or the file does not exist.
// Fails when the file cannot be read or contains no PEM CRL.
Result<std::optional<ExpiryStatus>> check_crl_due(const CaPaths& paths,
                                                  std::chrono::hours warn_within,
                                                  TimePoint now = Clock::now());

enum class ExportFormat { tar_gz, directory };

struct ExportOptions {
  CaPaths paths;
  std::string name;
  std::optional<Role> role;  // needed when a name is both a client and a server
  std::filesystem::path out;
  ExportFormat format = ExportFormat::tar_gz;
  bool force = false;  // replace an existing archive or files in the folder
};

// Writes ca.crt, NAME.crt and NAME.key as a gzip-compressed ustar archive
// (mode 0600) or into a folder (0700). During a rotation ca.crt contains both
// CA certificates, so the recipient trusts a server certificate from either.
Result<std::filesystem::path> export_credentials(const ExportOptions& options);

// Formats a time point as "YYYY-MM-DDTHH:MM:SSZ" in UTC.
std::string format_time(TimePoint time);

// Parses "YYYY-MM-DDTHH:MM:SSZ" as format_time() writes it.
Result<TimePoint> parse_time(std::string_view text);

// Parses a "YYYY-MM-DD" date and returns the last second of that day in UTC,
// so a certificate "valid until" that date is valid all through it.
Result<TimePoint> parse_end_of_day(std::string_view date);

}  // namespace sanctum::ca
