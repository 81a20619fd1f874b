#include "metrics/internal/pulled_gauges.h"

#include <string>
#include <utility>

namespace ksef::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddValue(MetricFamily& family, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

MetricFamily Gauge(std::string name, std::string help, double value) {
  MetricFamily family = Family(std::move(name), std::move(help), MetricType::Gauge);
  AddValue(family, value);
  return family;
}

void CollectToken(const TokenSnapshot& token, std::vector<MetricFamily>& out) {
  MetricFamily state = Family("ksef_hsm_token_state",
                              "1 for the token's current state: serving (usable) or recovering "
                              "(the health monitor reconnects; key calls are UNAVAILABLE).",
                              MetricType::Gauge);
  AddValue(state, token.serving ? 1 : 0, {{"state", "serving"}});
  AddValue(state, token.serving ? 0 : 1, {{"state", "recovering"}});
  out.push_back(std::move(state));
  MetricFamily reconnects =
      Family("ksef_hsm_token_reconnects_total",
             "Reconnect steps since start (close all sessions and log in; re-initialize the "
             "module).",
             MetricType::Counter);
  AddValue(reconnects, static_cast<double>(token.reconnects));
  out.push_back(std::move(reconnects));
  out.push_back(Gauge("ksef_hsm_session_pool_size", "Sessions the pool may open (session_pool_size).",
                      static_cast<double>(token.session_pool_size)));
  out.push_back(Gauge("ksef_hsm_sessions_open", "Work sessions open on the token now.",
                      static_cast<double>(token.sessions_open)));
  out.push_back(Gauge("ksef_hsm_sessions_in_use", "Work sessions lent out to calls now.",
                      static_cast<double>(token.sessions_in_use)));
  out.push_back(Gauge("ksef_hsm_sessions_waiting", "Calls waiting for a session of the pool now.",
                      static_cast<double>(token.sessions_waiting)));
  out.push_back(Gauge("ksef_hsm_signs_in_flight",
                      "Signatures holding one of max_concurrent_signs slots now.",
                      static_cast<double>(token.signs_in_flight)));
  out.push_back(Gauge("ksef_hsm_signs_waiting",
                      "Signatures waiting for one of max_concurrent_signs slots now.",
                      static_cast<double>(token.signs_waiting)));
}

void CollectAudit(const AuditSnapshot& audit, std::vector<MetricFamily>& out) {
  out.push_back(Gauge("ksef_hsm_audit_log_healthy",
                      "1 while the audit log writes and checkpoints; 0: signing is refused.",
                      audit.healthy ? 1 : 0));
  out.push_back(Gauge("ksef_hsm_audit_events_since_checkpoint",
                      "Events of this node no signed checkpoint covers yet.",
                      static_cast<double>(audit.events_since_checkpoint)));
  if (audit.last_checkpoint) {
    out.push_back(Gauge("ksef_hsm_audit_last_checkpoint_timestamp_seconds",
                        "Unix time of this node's newest signed checkpoint.",
                        absl::ToDoubleSeconds(*audit.last_checkpoint - absl::UnixEpoch())));
  }
}

void CollectKeys(const KeysSnapshot& keys, std::vector<MetricFamily>& out) {
  MetricFamily not_after =
      Family("ksef_hsm_key_certificate_not_after_timestamp_seconds",
             "Unix time the key's certificate expires (notAfter).", MetricType::Gauge);
  MetricFamily remaining = Family("ksef_hsm_key_signatures_remaining",
                                  "Signatures the key may still make under its usage limit.",
                                  MetricType::Gauge);
  for (const KeyGauges& key : keys.keys) {
    if (key.certificate_not_after) {
      AddValue(not_after, absl::ToDoubleSeconds(*key.certificate_not_after - absl::UnixEpoch()),
               {{"key_id", key.key_id}});
    }
    if (key.signatures_remaining) {
      AddValue(remaining, static_cast<double>(*key.signatures_remaining),
               {{"key_id", key.key_id}});
    }
  }
  out.push_back(std::move(not_after));
  out.push_back(std::move(remaining));
  out.push_back(Gauge("ksef_hsm_key_metrics_omitted",
                      "Keys with a certificate or usage limit left out of the per-key gauges "
                      "by the cap (the latest-expiring ones).",
                      static_cast<double>(keys.omitted)));
}

}  // namespace

std::vector<MetricFamily> PulledGauges::Collect() const {
  std::vector<MetricFamily> out;
  if (sources_.token) CollectToken(sources_.token(), out);
  if (sources_.audit) CollectAudit(sources_.audit(), out);
  if (sources_.keys) CollectKeys(sources_.keys(), out);
  return out;
}

}  // namespace ksef::metrics
