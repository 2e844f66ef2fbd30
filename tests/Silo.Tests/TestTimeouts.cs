namespace OrleansCodex.Silo.Tests;

/// <summary>The bounds every wait of these tests has: nothing waits forever.</summary>
internal static class TestTimeouts
{
    /// <summary>Starting or stopping a host, a migration run, a burst of grain calls.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Not within {timeout}: {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        }
    }

    public static Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, string what) => EventuallyAsync(() => Task.FromResult(condition()), timeout, what);
}
