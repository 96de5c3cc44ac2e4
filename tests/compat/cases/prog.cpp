// Compiled by g++ inside the suite, then run: exceptions (the unwinder reads
// the sealed .eh_frame), RTTI, threads, iostreams, containers, locales.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
};
struct Square : Shape {
  double s;
  explicit Square(double v) : s(v) {}
  double area() const override { return s * s; }
};

int main() {
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 1; i <= 3; ++i) shapes.push_back(std::make_unique<Square>(i));
  double total = 0;
  for (auto& s : shapes) total += s->area();
  std::cout << "total area " << total << ", first is a "
            << (dynamic_cast<Square*>(shapes[0].get()) ? "Square" : "?") << '\n';
  try {
    throw std::runtime_error("thrown through sealed text");
  } catch (const std::exception& e) {
    std::cout << "caught: " << e.what() << '\n';
  }
  std::vector<long> sums(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([t, &sums] {
      for (long i = 0; i < 100000; ++i) sums[t] += i % (t + 2);
    });
  for (auto& t : ts) t.join();
  std::cout << "thread sums";
  for (long s : sums) std::cout << ' ' << s;
  std::cout << '\n';
  std::map<std::string, int> freq;
  std::istringstream in("a b a c b a");
  for (std::string w; in >> w;) ++freq[w];
  for (auto& [k, v] : freq) std::cout << k << '=' << v << ' ';
  std::cout << '\n';
  std::vector<int> v(20);
  std::iota(v.begin(), v.end(), 1);
  std::cout << "sum " << std::accumulate(v.begin(), v.end(), 0) << '\n';
  return 0;
}
