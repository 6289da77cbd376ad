//! Test support: throwaway network-namespace labs with guaranteed cleanup
