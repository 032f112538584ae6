package pdffile

import "container/list"

// lru is a map that keeps its max most recently used entries.
type lru[K comparable, V any] struct {
	max   int
	items map[K]*list.Element
	order list.List // of *lruItem, most recent first
}

type lruItem[K comparable, V any] struct {
	k K
	v V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*list.Element)}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruItem[K, V]).v, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruItem[K, V]).v = v
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.items, e.Value.(*lruItem[K, V]).k)
	}
	c.items[k] = c.order.PushFront(&lruItem[K, V]{k, v})
}
