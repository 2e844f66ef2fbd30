namespace OrleansCodex.Grains.Tests;
