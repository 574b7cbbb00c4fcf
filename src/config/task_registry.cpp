#include "ordertune/config/task_registry.h"

#include <set>

#include "ordertune/base/error.h"

namespace ordertune {
TaskRegistry TaskRegistry::builtin() {
  TaskRegistry registry;
  register_intermediate_tasks(registry);
  register_xtreme_tasks(registry);
  return registry;
}

const TaskSpec& TaskRegistry::get(const std::string& name) const {
  auto it = tasks_.find(name);
  if (it == tasks_.end()) {
    std::string known;
    for (const auto& [key, spec] : tasks_) known += (known.empty() ? "" : ", ") + key;
    throw ConfigError(fmt::format("unknown task '{}' (known: {}; define it under [tasks.{}])", name,
                                  known, name));
  }
  return it->second;
}

void TaskRegistry::add(TaskSpec spec) {
  const std::string name = spec.name;
  tasks_[name] = std::move(spec);
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [key, spec] : tasks_) out.push_back(key);
  return out;
}

std::vector<std::string> TaskRegistry::formats() const {
  std::set<std::string> out(kGenericFormats.begin(), kGenericFormats.end());
  for (const auto& [key, spec] : tasks_) out.insert(spec.format);
  return {out.begin(), out.end()};
}

}  // namespace ordertune
