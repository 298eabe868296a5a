// A first-in first-out queue in one growable ring: what connections keep per exchange
// (waiting requests, expected response kinds) and the file reader's record window. std::deque
// cost a node walk per push and pop.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace coreplay {

// Only the queued elements are live objects: emplace_back() constructs in the free slot itself
// (a value built for it is not written to a temporary and moved in, which costs a store-forwarding
// stall per element: narrow stores of the temporary, then one wide load to move it) and
// pop_front() destroys in place (no empty value built and move-assigned over the slot).
template <class T>
class small_fifo {
  static_assert(std::is_nothrow_move_constructible_v<T>, "grow() moves the elements");

 public:
  small_fifo() noexcept = default;
  small_fifo(const small_fifo& o) : small_fifo() {
    for (std::size_t i = 0; i < o.count_; ++i) emplace_back(o[i]);
  }
  small_fifo(small_fifo&& o) noexcept
      : slots_(std::exchange(o.slots_, nullptr)),
        capacity_(std::exchange(o.capacity_, 0)),
        head_(std::exchange(o.head_, 0)),
        count_(std::exchange(o.count_, 0)) {}
  small_fifo& operator=(small_fifo o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(capacity_, o.capacity_);
    std::swap(head_, o.head_);
    std::swap(count_, o.count_);
    return *this;
  }
  ~small_fifo() {
    clear();
    if (slots_) std::allocator<T>{}.deallocate(slots_, capacity_);
  }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  T& front() noexcept { return slots_[head_]; }
  const T& front() const noexcept { return slots_[head_]; }
  // i-th from the front, i < size().
  T& operator[](std::size_t i) noexcept { return slots_[(head_ + i) & (capacity_ - 1)]; }
  const T& operator[](std::size_t i) const noexcept { return slots_[(head_ + i) & (capacity_ - 1)]; }

  // Constructs the new back element from `args` where it stays. If that throws, nothing is added.
  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (count_ == capacity_) grow();
    T* p = ::new (static_cast<void*>(slots_ + ((head_ + count_) & (capacity_ - 1)))) T(std::forward<Args>(args)...);
    ++count_;
    return *p;
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  void pop_front() noexcept {
    std::destroy_at(slots_ + head_);
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
  }
  void clear() noexcept {
    while (count_) pop_front();
    head_ = 0;
  }

 private:
  void grow() {
    const std::size_t bigger = capacity_ ? capacity_ * 2 : 4;  // a power of two
    T* s = std::allocator<T>{}.allocate(bigger);
    for (std::size_t i = 0; i < count_; ++i) {
      T& old = (*this)[i];
      ::new (static_cast<void*>(s + i)) T(std::move(old));
      std::destroy_at(&old);
    }
    if (slots_) std::allocator<T>{}.deallocate(slots_, capacity_);
    slots_ = s;
    capacity_ = bigger;
    head_ = 0;
  }

  T* slots_ = nullptr;  // capacity_ slots; the count_ from head_ (wrapping) hold live elements
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace coreplay
