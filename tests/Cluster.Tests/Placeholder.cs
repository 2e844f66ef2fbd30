namespace OrleansCodex.Cluster.Tests;
