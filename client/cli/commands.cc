#include "client/cli/commands.h"

#include "client/cli/audit_handlers.h"
#include "client/cli/auth_handlers.h"
#include "client/cli/command_handlers.h"
#include "client/cli/enrollment_handlers.h"
#include "client/cli/offline_handlers.h"
#include "client/cli/test_ca_handlers.h"

namespace ksef::client {
namespace {

constexpr FlagSpec kGlobalFlags[] = {
    {"server", "HOST:PORT", "address of ksef-hsmd (default 127.0.0.1:7443)"},
    {"ca-cert", "FILE", "CA certificate (PEM) that signed the server's certificate"},
    {"client-cert", "FILE", "your client certificate (PEM), for mutual TLS"},
    {"client-key", "FILE", "the private key (PEM) of --client-cert"},
    {"server-name", "NAME", "name in the server certificate, if it differs from HOST"},
    {"plaintext", "", "no TLS at all; only for a local test server"},
    {"timeout", "DURATION", "deadline of each call, e.g. 10s or 2m (default 30s)"},
    {"json", "", "print the server's reply as protobuf JSON, for scripts"},
    {"config", "FILE", "client config file (see below)"},
    {"version", "", "print the version and git revision, and exit"},
};

constexpr FlagSpec kSubjectTypeFlag = {"subject-type", "TYPE", "nip, pesel or fingerprint"};
constexpr FlagSpec kPurposeFlag = {"purpose", "PURPOSE", "authentication or offline"};

constexpr absl::string_view kNameHelp =
    "NAME is keys/ID, just ID (\"keys/\" is added), or the key's pkcs11: URI (quote it:\n"
    "it contains ';').";

const std::vector<CommandSpec>& Table() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {"create-key",
       "generate a new key pair inside the HSM",
       "--subject-type TYPE --subject VALUE --purpose PURPOSE\n"
       "[--algorithm ALG] [--key-id ID]",
       "Generates a key pair inside the HSM token. The private key is created\n"
       "non-extractable and never leaves the HSM. The subject is the KSeF identity the\n"
       "key's certificate will carry: a NIP (10 digits), a PESEL (11 digits) or the\n"
       "SHA-256 fingerprint of a certificate (64 hex digits). The purpose decides what\n"
       "the key may sign: \"authentication\" logs in to KSeF, \"offline\" signs KOD II\n"
       "links of offline invoices. The new key waits in state pending-certificate until\n"
       "a certificate for it is imported.",
       {"ksef-hsm create-key --subject-type nip --subject 5260250274 --purpose authentication",
        "ksef-hsm create-key --subject-type pesel --subject 44051401359 --purpose offline \\\n"
        "      --algorithm rsa-2048 --key-id jan-offline-1"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "the NIP, PESEL or fingerprint"},
        kPurposeFlag,
        {"algorithm", "ALG", "ec-p256 (default) or rsa-2048"},
        {"key-id", "ID", "your own ID, [a-z0-9][a-z0-9-]{0,62}; generated if absent"},
        {"usage-limit", "N", "at most N successful signatures in all (default: no limit)"}},
       {},
       &RunCreateKey},
      {"get-key",
       "show one key",
       "NAME",
       "Shows a key: its state, purpose, algorithm, subject, PKCS#11 URI, times, what the\n"
       "token reports about the private key (attestation) and its certificate, if any.",
       {"ksef-hsm get-key acme-auth-1"},
       {},
       {"NAME"},
       &RunGetKey},
      {"list-keys",
       "list keys, optionally filtered",
       "[--subject-type TYPE] [--subject VALUE] [--purpose PURPOSE]\n"
       "[--state STATE] [--expiring-within DURATION] [--page-size N]\n"
       "[--page-token TOKEN] [--all]",
       "Lists keys ordered by name, one page at a time (50 by default). Filters combine\n"
       "with AND. Without --all, the last line tells the --page-token for the next page.\n"
       "--expiring-within keeps only active keys whose certificate expires within that\n"
       "time from now, to plan renewals (expired certificates show as state expired).",
       {"ksef-hsm list-keys --state active --all",
        "ksef-hsm list-keys --subject-type nip --subject 5260250274",
        "ksef-hsm list-keys --expiring-within 30d --all"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "only keys for this NIP, PESEL or fingerprint"},
        kPurposeFlag,
        {"state", "STATE",
         "pending-certificate, active, disabled, expired, scheduled-for-destruction or "
         "destroyed"},
        {"expiring-within", "DURATION",
         "only active keys whose certificate expires within DURATION, e.g. 30d or 720h"},
        {"page-size", "N", "keys per page (server default 50, at most 1000)"},
        {"page-token", "TOKEN", "continue where a previous page ended"},
        {"all", "", "fetch every page and print them as one list"}},
       {},
       &RunListKeys},
      {"public-key",
       "print a key's public key (PEM), or write it as DER",
       "NAME [--der-out FILE]",
       "Prints the public half of the key as a PEM SubjectPublicKeyInfo (\"-----BEGIN\n"
       "PUBLIC KEY-----\"), ready to be saved or passed to openssl. With --der-out the\n"
       "DER form is written to FILE instead.",
       {"ksef-hsm public-key acme-auth-1 > acme-auth-1.pub.pem",
        "ksef-hsm public-key acme-auth-1 --der-out acme-auth-1.pub.der"},
       {{"der-out", "FILE", "write the DER SubjectPublicKeyInfo to FILE"}},
       {"NAME"},
       &RunPublicKey},
      {"csr",
       "make a KSeF certificate signing request (CSR) for a key",
       "NAME (--enrollment-data FILE |\n"
       "      --common-name CN --country-name C [--surname S]\n"
       "      [--given-name G] [--organization-name O]\n"
       "      [--organization-identifier OI] [--serial-number SN]\n"
       "      [--unique-identifier UID])\n"
       "[--certificate-name NAME] [--valid-from TIME]\n"
       "[--format json|base64|pem|der] [--out FILE]",
       "Builds a PKCS#10 CSR for the key, signed inside the HSM, for KSeF's certificate\n"
       "enrollment. The subject comes either from --enrollment-data, the JSON that KSeF\n"
       "returns from GET /certificates/enrollments/data, saved to a file unchanged (the\n"
       "server reads it; this tool does not), or from the subject options, which must\n"
       "then include --common-name and --country-name. Give one or the other.\n"
       "\n"
       "By default (--format json) it prints the ready body of POST\n"
       "/certificates/enrollments: certificateName, certificateType (from the key's\n"
       "purpose), csr and validFrom (with --valid-from). --format base64 prints only the\n"
       "CSR as Base64 DER (KSeF's \"csr\" field), pem prints it as PEM for openssl, and\n"
       "der writes raw DER (needs --out). With --out the result goes to FILE instead of\n"
       "standard output. With --json the whole reply is printed as protobuf JSON.\n"
       "When KSeF has issued the certificate, store it with import-cert.",
       {"ksef-hsm csr acme-auth-1 --enrollment-data enrollment-data.json > enrollment.json",
        "ksef-hsm csr acme-auth-1 --common-name \"Acme Sp. z o.o.\" --country-name PL \\\n"
        "      --organization-name \"Acme Sp. z o.o.\" \\\n"
        "      --organization-identifier VATPL-5260250274 --format pem --out acme-auth-1.csr.pem"},
       {{"enrollment-data", "FILE", "the JSON of GET /certificates/enrollments/data, as is"},
        {"common-name", "CN", "commonName (required without --enrollment-data)"},
        {"country-name", "C", "countryName, e.g. PL (required without --enrollment-data)"},
        {"surname", "S", "surname"},
        {"given-name", "G", "givenName"},
        {"organization-name", "O", "organizationName"},
        {"organization-identifier", "OI", "organizationIdentifier, e.g. VATPL-5260250274"},
        {"serial-number", "SN", "serialNumber, e.g. TINPL-5260250274 or PNOPL-44051401359"},
        {"unique-identifier", "UID", "uniqueIdentifier"},
        {"certificate-name", "NAME",
         "certificateName for KSeF, 5-100 letters, digits, spaces, '_' or '-' (default "
         "\"ksef-hsm ID\")"},
        {"valid-from", "TIME", "validFrom, RFC 3339 (e.g. 2025-07-01T00:00:00Z); default: now"},
        {"format", "FORMAT",
         "json (default: the enrollment body), base64, pem or der (the CSR alone)"},
        {"out", "FILE", "write the result to FILE instead of standard output"}},
       {"NAME"},
       &RunCsr},
      {"import-cert",
       "store the certificate KSeF issued for a key; the key becomes active",
       "NAME --cert FILE [--serial HEX]",
       "Stores the certificate beside the key in the HSM token; the key becomes active.\n"
       "FILE may hold the certificate as DER, PEM or Base64, or be the whole JSON reply\n"
       "of KSeF's POST /certificates/retrieve. When that reply holds several\n"
       "certificates, --serial picks one by its serial number (hex). The server checks\n"
       "that the certificate holds the key's public key and fits the key's purpose, and\n"
       "says which check failed if not.",
       {"ksef-hsm import-cert acme-auth-1 --cert retrieve-response.json --serial 01F20A5D352AE590",
        "ksef-hsm import-cert acme-auth-1 --cert acme-auth-1.crt"},
       {{"cert", "FILE", "the certificate: DER, PEM, Base64 or the retrieve JSON"},
        {"serial", "HEX", "which certificate of the retrieve JSON to take"}},
       {"NAME"},
       &RunImportCert},
      {"self-signed",
       "give a key a self-signed certificate (KSeF TEST environment only)",
       "NAME --form personal|seal --common-name CN\n"
       "[--given-name G --surname S] [--organization-name O]\n"
       "[--validity-days N]",
       "ONLY FOR KSeF's TEST ENVIRONMENT, which accepts self-signed certificates; the\n"
       "production and demo environments do not. Issues a self-signed certificate for\n"
       "the key, signed inside the HSM, and stores it beside the key, which becomes\n"
       "active. --form personal makes a person's certificate (--given-name, --surname;\n"
       "serialNumber from the key's NIP or PESEL), --form seal an organization's seal\n"
       "(--organization-name; organizationIdentifier from the key's NIP). Valid for 365\n"
       "days unless --validity-days says otherwise (at most 730).",
       {"ksef-hsm self-signed jan-auth-1 --form personal --common-name \"Jan Kowalski\" \\\n"
        "      --given-name Jan --surname Kowalski",
        "ksef-hsm self-signed acme-auth-1 --form seal --common-name \"Acme Sp. z o.o.\" \\\n"
        "      --organization-name \"Acme Sp. z o.o.\" --validity-days 30"},
       {{"form", "FORM", "personal (a person) or seal (an organization)"},
        {"common-name", "CN", "commonName"},
        {"given-name", "G", "givenName (personal)"},
        {"surname", "S", "surname (personal)"},
        {"organization-name", "O", "organizationName (seal)"},
        {"validity-days", "N", "validity in days (default 365, at most 730)"}},
       {"NAME"},
       &RunSelfSigned},
      {"import-key",
       "import an existing key and certificate (e.g. from the KSeF web app)",
       "--subject-type TYPE --subject VALUE\n"
       "--purpose PURPOSE --key FILE --cert FILE\n"
       "[--password-file FILE | --password-stdin]\n"
       "[--key-id ID]",
       "Brings your own key into the HSM: the .key file (encrypted PKCS#8, PEM or DER)\n"
       "and the .crt file that the KSeF web application gives you. The key is stored\n"
       "sensitive and non-extractable from then on, and the new key is active. Its origin\n"
       "is shown as \"imported\": unlike a key generated in the HSM, it has existed\n"
       "outside it. Delete the key file afterwards.\n"
       "\n"
       "The password of an encrypted key file comes from --password-file (a file only\n"
       "you can read: chmod 600) or from one line of standard input (--password-stdin).\n"
       "There is deliberately no option that takes the password itself: command lines\n"
       "end up in shell history and in the process list. Without either option an\n"
       "empty password is sent, for an unencrypted key file.",
       {"ksef-hsm import-key --subject-type nip --subject 5260250274 --purpose authentication \\\n"
        "      --key acme.key --cert acme.crt --password-file ~/.ksef/acme.pass",
        "pass show formats/acme | ksef-hsm import-key --subject-type nip \\\n"
        "      --subject 5260250274 --purpose offline --key acme.key --cert acme.crt \\\n"
        "      --password-stdin --key-id acme-offline-1"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "the NIP, PESEL or fingerprint"},
        kPurposeFlag,
        {"key", "FILE", "the private key file (.key)"},
        {"cert", "FILE", "its certificate (.crt): DER, PEM or Base64"},
        {"password-file", "FILE", "read the key file's password from FILE (mode 0600)"},
        {"password-stdin", "", "read the key file's password from one line of standard input"},
        {"key-id", "ID", "your own ID, [a-z0-9][a-z0-9-]{0,62}; generated if absent"}},
       {},
       &RunImportKey},
      {"disable-key",
       "refuse every use of a key until it is enabled again",
       "NAME",
       "Moves an active or pending-certificate key to disabled: the service refuses to\n"
       "use it. Reversible with enable-key.",
       {"ksef-hsm disable-key acme-auth-1"},
       {},
       {"NAME"},
       &RunDisableKey},
      {"set-usage-limit",
       "limit how many signatures a key may make in all",
       "NAME LIMIT",
       "Sets the key's usage limit: once it has made LIMIT successful signatures\n"
       "(CSRs, self-signed certificates, KSeF log-ins, KOD II links), further signing\n"
       "is refused. The count comes from the audit log. 0 removes the limit.",
       {"ksef-hsm set-usage-limit acme-auth-1 10000"},
       {},
       {"NAME", "LIMIT"},
       &RunSetUsageLimit},
      {"enable-key",
       "make a disabled key usable again",
       "NAME",
       "Moves a disabled key back to active (if it has a certificate) or to\n"
       "pending-certificate.",
       {"ksef-hsm enable-key acme-auth-1"},
       {},
       {"NAME"},
       &RunEnableKey},
      {"schedule-destruction",
       "schedule a key for destruction; restore-key undoes it",
       "NAME",
       "Marks the key scheduled-for-destruction. The key is unusable at once; its private\n"
       "key is deleted from the HSM when destroy_time (shown in the output) has passed.\n"
       "Until then, restore-key brings it back. After that, it is gone for good.",
       {"ksef-hsm schedule-destruction acme-auth-1"},
       {},
       {"NAME"},
       &RunScheduleDestruction},
      {"restore-key",
       "undo schedule-destruction (the key comes back disabled)",
       "NAME",
       "Cancels the destruction of a scheduled-for-destruction key within its grace\n"
       "period. The key comes back disabled; use enable-key to use it again.",
       {"ksef-hsm restore-key acme-auth-1"},
       {},
       {"NAME"},
       &RunRestoreKey},
      {"check-consistency",
       "compare the HSM token with the service's key registry",
       "",
       "Asks the service to compare the private keys on the HSM token with its key\n"
       "registry, and prints keys found on the token that the registry does not know, and\n"
       "registry keys whose token objects are missing. Exit status 1 when it finds any.",
       {"ksef-hsm check-consistency"},
       {},
       {},
       &RunCheckConsistency},
      {"auth-sign",
       "signs a KSeF AuthTokenRequest (POST /auth/xades-signature body) with an Authentication "
       "key; the service builds the document itself",
       "(NAME | --subject-type TYPE --subject VALUE) --challenge C\n"
       "(--nip N | --internal-id I | --nip-vat-ue V | --peppol-id P)\n"
       "[--subject-identifier-type certificate-subject|certificate-fingerprint]\n"
       "[--allow-ip A]... [--allow-ip-range A-B]... [--allow-ip-mask A/N]...\n"
       "[--schema 2.0|2.1] [--out FILE]",
       "Logs in to KSeF with a key in the HSM: the service builds the AuthTokenRequest\n"
       "from these fields, signs it with XAdES-BES using the Authentication key, and\n"
       "returns the signed XML, the body of POST /auth/xades-signature. It never signs\n"
       "a document you supply. The key is NAME, or, with --subject-type and --subject,\n"
       "that subject's only active Authentication key with a valid certificate.\n"
       "--challenge is the challenge of POST /auth/challenge; exactly one of --nip,\n"
       "--internal-id, --nip-vat-ue and --peppol-id names the KSeF context the session\n"
       "is for. --allow-ip, --allow-ip-range and --allow-ip-mask (each repeatable, at\n"
       "most 10 of each) add an AuthorizationPolicy limiting the client IP addresses.\n"
       "--schema picks the AuthTokenRequest namespace (default 2.0).\n"
       "\n"
       "The signed XML is written byte for byte to --out, or else to standard output\n"
       "with nothing else on it; the summary (key, certificate serial, signing time,\n"
       "SHA-256 of the document) then goes to standard error. With --json the whole\n"
       "reply is printed as protobuf JSON (the XML in Base64).",
       {"ksef-hsm auth-sign acme-auth-1 --challenge 20250625-CR-20F5EE4000-DA48AE4124-46 \\\n"
        "      --nip 5260250274 --out auth-request.xml",
        "ksef-hsm auth-sign --subject-type nip --subject 5260250274 --challenge \"$CHALLENGE\" \\\n"
        "      --nip 5260250274 --allow-ip 192.0.2.10 --allow-ip-mask 198.51.100.0/24 \\\n"
        "      --schema 2.1 | curl --data-binary @- -H 'Content-Type: application/xml' \\\n"
        "      \"$KSEF_API/auth/xades-signature\""},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "the NIP, PESEL or fingerprint (instead of NAME)"},
        {"challenge", "C", "the challenge from POST /auth/challenge"},
        {"nip", "N", "context: a NIP (10 digits)"},
        {"internal-id", "I", "context: an internal identifier (NIP-5 digits)"},
        {"nip-vat-ue", "V", "context: a NIP-VAT UE number"},
        {"peppol-id", "P", "context: a Peppol identifier (PPL...)"},
        {"subject-identifier-type", "TYPE",
         "certificate-subject (default) or certificate-fingerprint"},
        {"allow-ip", "A", "allow this IPv4 address (repeatable)"},
        {"allow-ip-range", "A-B", "allow this IPv4 range, e.g. 192.0.2.1-192.0.2.20 (repeatable)"},
        {"allow-ip-mask", "A/N", "allow this IPv4 network, e.g. 192.0.2.0/24 (repeatable)"},
        {"schema", "VERSION", "AuthTokenRequest schema: 2.0 (default) or 2.1"},
        {"out", "FILE", "write the signed XML to FILE instead of standard output"}},
       {"[NAME]"},
       &RunAuthSign},
      {"qr",
       "builds the KOD I and signed KOD II links (and QR images with their labels "
       "OFFLINE/CERTYFIKAT) of offline invoices, signed with an Offline key; the service reads "
       "the seller NIP and issue date from the invoice and hashes the file as is",
       "(NAME | --subject-type TYPE --subject VALUE)\n"
       "(--nip N | --internal-id I | --nip-vat-ue V | --peppol-id P)\n"
       "[--environment test|demo|production] [--ksef-number NUMBER]\n"
       "[--out-dir DIR | --no-images] PATH...",
       "An invoice issued offline carries two QR codes: KOD I, the link that verifies\n"
       "the invoice (labelled OFFLINE until KSeF has given it a number), and KOD II,\n"
       "the link that verifies the issuer's certificate, signed with the issuer's\n"
       "Offline key (label CERTYFIKAT). The service reads the seller NIP (Podmiot1) and\n"
       "the issue date (P_1) from each FA(3) invoice file and hashes the file exactly\n"
       "as it is: send that very file to KSeF later, without re-saving it.\n"
       "\n"
       "The key is NAME, or, with --subject-type and --subject, that subject's active\n"
       "Offline key with the newest valid certificate; every argument is then a PATH.\n"
       "Exactly one of --nip, --internal-id, --nip-vat-ue and --peppol-id names the\n"
       "KSeF context the invoices are issued in (the one you log in with). A PATH is an\n"
       "invoice XML file, or a directory whose *.xml files (directly inside) are taken\n"
       "in name order. One file is one call; more files go in one stream, and an\n"
       "invoice that fails does not stop the others.\n"
       "\n"
       "For each invoice it prints the file, the KOD I link with its label, the KOD II\n"
       "link and the images written: DIR/STEM.kod-i.png, .kod-i.svg, .kod-ii.png and\n"
       ".kod-ii.svg, where STEM is the file name without .xml and DIR is --out-dir\n"
       "(default: the current directory; created if missing). --no-images writes none.\n"
       "An invoice that fails is reported as \"FILE: error: CODE: message\" on standard\n"
       "error, and the exit status is then 1. --environment picks the QR host (default:\n"
       "the server's setting). --ksef-number labels KOD I with the KSeF number once the\n"
       "invoice has one (one file only). With --json each result is printed as one\n"
       "line of protobuf JSON (the images are still written).",
       {"ksef-hsm qr acme-offline-1 --nip 5260250274 --environment test --out-dir qr \\\n"
        "      FA-2025-0001.xml",
        "ksef-hsm qr --subject-type nip --subject 5260250274 --nip 5260250274 \\\n"
        "      --out-dir qr invoices/"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "the NIP, PESEL or fingerprint (instead of NAME)"},
        {"nip", "N", "context: a NIP (10 digits)"},
        {"internal-id", "I", "context: an internal identifier (NIP-5 digits)"},
        {"nip-vat-ue", "V", "context: a NIP-VAT UE number"},
        {"peppol-id", "P", "context: a Peppol identifier (PPL...)"},
        {"environment", "ENV", "QR host: test, demo or production (default: the server's)"},
        {"ksef-number", "NUMBER", "label KOD I with this KSeF number (one file only)"},
        {"out-dir", "DIR", "where to write the images (default: the current directory)"},
        {"no-images", "", "only the links; write no images"}},
       {"[NAME]", "PATH..."},
       &RunQr},
      {"audit",
       "read and verify the audit log: list, usage, verify, public-key",
       "list [--since TIME] [--until TIME] [--caller X] [--key NAME]\n"
       "     [--subject TYPE:VALUE] [--operation OP]\n"
       "     [--outcome success|failure|denied] [--page-size N]\n"
       "     [--page-token T] [--all]\n"
       "usage [--key NAME] [--since TIME] [--until TIME]\n"
       "verify [--db FILE [--anchor FILE] [--public-key FILE] [--insecure-skip-signature]]\n"
       "public-key [--out FILE]",
       "The service records every key use and key-management action, allowed or not,\n"
       "in a tamper-evident log: one hash chain per server node, with checkpoints signed\n"
       "by the audit key. Reading it needs the audit-reading role.\n"
       "\n"
       "\"list\" prints events oldest first, one per line: time, node:seq, outcome,\n"
       "operation, key, subject, caller (policy identity, else certificate subject), the\n"
       "first 16 hex digits of the SHA-256 of the signed bytes, and the status of events\n"
       "that did not succeed. Filters combine with AND; --since is inclusive, --until\n"
       "exclusive (RFC 3339). Without --all, the last line tells the --page-token for\n"
       "the next page. --json prints every field in full.\n"
       "\"usage\" counts successful uses per key and operation.\n"
       "\"verify\" asks the server to check every chain and checkpoint; exit status 1\n"
       "if it finds a problem (node, seq and what is wrong are printed). With --db it\n"
       "runs offline instead, without a server, on a copy of an SQLite audit store\n"
       "(e.g. made with: sqlite3 audit.db \".backup audit-copy.db\"); the file itself is\n"
       "never written. Give it --anchor, a copy of the server's anchor file (every\n"
       "checkpoint, kept outside the database; it pins the audit key's fingerprint),\n"
       "and/or --public-key, the audit key saved earlier with \"audit public-key\"\n"
       "(PEM or DER). Without either, signatures are not checked against a pinned key\n"
       "and the exit status is 1 unless --insecure-skip-signature is given. Events past\n"
       "the last (anchored) checkpoint are reported as an unprotected tail.\n"
       "\"public-key\" prints the audit key (PEM) and its SHA-256 fingerprint, or\n"
       "writes the PEM to --out.",
       {"ksef-hsm audit list --key acme-auth-1 --since 2025-07-01T00:00:00Z --all",
        "ksef-hsm audit list --outcome denied --operation SignAuthToken",
        "ksef-hsm audit usage --since 2025-07-01T00:00:00Z",
        "ksef-hsm audit public-key --out audit-key.pem\n"
        "  ksef-hsm audit verify --db audit-copy.db --anchor audit-anchor.log "
        "--public-key audit-key.pem"},
       {{"since", "TIME", "list, usage: from TIME on (inclusive), RFC 3339"},
        {"until", "TIME", "list, usage: before TIME (exclusive), RFC 3339"},
        {"caller", "X", "list: certificate subject or policy identity of the caller"},
        {"key", "NAME", "list, usage: only this key (keys/ID or ID)"},
        {"subject", "TYPE:VALUE", "list: KSeF subject, e.g. nip:5260250274"},
        {"operation", "OP", "list: RPC name, e.g. SignAuthToken or CreateKey"},
        {"outcome", "OUTCOME", "list: success, failure or denied"},
        {"page-size", "N", "list: events per page (server default 100, at most 1000)"},
        {"page-token", "T", "list: continue where a previous page ended"},
        {"all", "", "list: fetch every page and print them as one list"},
        {"db", "FILE", "verify: check this copy of an SQLite audit store offline"},
        {"public-key", "FILE", "verify --db: the audit key (PEM or DER) to trust"},
        {"anchor", "FILE", "verify --db: the audit anchor file to compare the store with"},
        {"insecure-skip-signature", "",
         "verify --db: accept checking signatures against the stored key only"},
        {"out", "FILE", "public-key: write the PEM to FILE"}},
       {"list|usage|verify|public-key"},
       &RunAudit},
      {"test-ca",
       "LOCAL TEST CA - NOT KSeF: certificates for demos and tests only",
       "issue --ca-dir DIR --csr FILE --type authentication|offline\n"
       "      [--not-before TIME] [--validity-days N] --out FILE\n"
       "cert --ca-dir DIR [--out FILE]",
       "*** LOCAL TEST CA - NOT KSeF: for demos and tests only. ***\n"
       "KSeF does not accept its certificates, and nothing real should trust it.\n"
       "\n"
       "Runs on this machine; it does not talk to ksef-hsmd. The CA lives in --ca-dir\n"
       "(test-ca-key.pem, test-ca-cert.pem) and is created there on first use; its name\n"
       "says \"LOCAL TEST CA - NOT KSeF\". \"issue\" turns a CSR (from \"ksef-hsm csr\n"
       "--format pem\", or base64/der) into a KSeF-like certificate of the given type\n"
       "(authentication: keyUsage digitalSignature; offline: nonRepudiation), valid from\n"
       "--not-before (default now; may lie in the past) for --validity-days (default\n"
       "730), and writes it as PEM to --out, ready for import-cert. \"cert\" prints the\n"
       "CA's own certificate (PEM), e.g. to check issued certificates with openssl.",
       {"ksef-hsm csr acme-auth-1 --common-name Acme --country-name PL --format pem \\\n"
        "      --out acme.csr.pem\n"
        "  ksef-hsm test-ca issue --ca-dir ./test-ca --csr acme.csr.pem --type authentication \\\n"
        "      --out acme.crt.pem\n"
        "  ksef-hsm import-cert acme-auth-1 --cert acme.crt.pem",
        "ksef-hsm test-ca cert --ca-dir ./test-ca --out test-ca.pem"},
       {{"ca-dir", "DIR", "the test CA's directory (created with a new CA if needed)"},
        {"csr", "FILE", "issue: the CSR, PEM, Base64 or DER"},
        {"type", "TYPE", "issue: authentication or offline"},
        {"not-before", "TIME", "issue: start of validity, RFC 3339 (default: now)"},
        {"validity-days", "N", "issue: validity in days (default 730)"},
        {"out", "FILE", "issue: where to write the certificate (PEM); cert: optional"}},
       {"issue|cert"},
       &RunTestCa},
      {"health",
       "ask whether the server is serving (exit 0 if so)",
       "[--service NAME]",
       "Calls the standard gRPC health check (grpc.health.v1.Health/Check) and prints\n"
       "the status: SERVING, NOT_SERVING, ... Exit status 0 only for SERVING, so it\n"
       "works in scripts and container health checks.",
       {"ksef-hsm health", "ksef-hsm health --service ksef.hsm.v1.KeyService"},
       {{"service", "NAME", "check one service instead of the whole server"}},
       {},
       &RunHealth},
  };
  return *kCommands;
}

}  // namespace

absl::string_view KeyNameHelp() { return kNameHelp; }

std::span<const CommandSpec> AllCommands() { return Table(); }

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& command : Table()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::span<const FlagSpec> GlobalFlags() { return kGlobalFlags; }

}  // namespace ksef::client
