namespace OrleansCodex.Testing;
