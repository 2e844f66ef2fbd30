namespace OrleansCodex.Api.Tests;
