package memstore_test

import (
	"testing"

	"github.com/sealpipe/sealpipe/internal/memstore"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return memstore.New("bench") })
}
