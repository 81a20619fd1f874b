// PulledGauges: the metrics read at scrape time (metrics.h, Sources),
// rendered as prometheus-cpp metric families. Internal to metrics/.
// Thread-safe: SetSources once before the first Collect.
#ifndef KSEF_METRICS_INTERNAL_PULLED_GAUGES_H_
#define KSEF_METRICS_INTERNAL_PULLED_GAUGES_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "metrics/metrics.h"

namespace ksef::metrics {

class PulledGauges : public prometheus::Collectable {
 public:
  void SetSources(Sources sources) { sources_ = std::move(sources); }
  // Calls each source that is set; a source not set adds nothing.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Sources sources_;
};

}  // namespace ksef::metrics

#endif  // KSEF_METRICS_INTERNAL_PULLED_GAUGES_H_
