using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

public sealed class MembershipOptionsTests
{
    [Fact]
    public void MembershipOptions_NothingConfigured_UseDocumentedDefaultsThatDetectDeathWithinFiveSeconds()
    {
        var options = new MembershipOptions();

        Assert.Equal("orleanscodex", options.ClusterId);
        Assert.Equal(TimeSpan.FromSeconds(1), options.HeartbeatPeriod);
        Assert.Equal(TimeSpan.FromSeconds(3), options.DeathTimeout);
        Assert.Equal(TimeSpan.FromDays(7), options.DefunctEntryExpiration);
        Assert.Equal(TimeSpan.FromSeconds(4), options.MaxDetectionTime);
        Assert.True(new MembershipOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(100_000, new GrainDirectoryOptions().DirectoryCacheSize);
    }

    [Fact]
    public void MembershipOptions_BoundFromClusterSection_ReadsEverySetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:ClusterId"] = "prod",
            ["Cluster:HeartbeatPeriod"] = "00:00:02",
            ["Cluster:DeathTimeout"] = "00:00:10",
            ["Cluster:DefunctEntryExpiration"] = "1.00:00:00",
            ["Cluster:DirectoryCacheSize"] = "500",
        }).Build();
        var services = new ServiceCollection();
        services.AddOptions<MembershipOptions>().Bind(configuration.GetSection(MembershipOptions.SectionName));
        services.AddOptions<GrainDirectoryOptions>().Bind(configuration.GetSection(GrainDirectoryOptions.SectionName));
        using var provider = services.BuildServiceProvider();

        var membership = provider.GetRequiredService<IOptions<MembershipOptions>>().Value;
        var directory = provider.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value;

        Assert.Equal("prod", membership.ClusterId);
        Assert.Equal(TimeSpan.FromSeconds(2), membership.HeartbeatPeriod);
        Assert.Equal(TimeSpan.FromSeconds(10), membership.DeathTimeout);
        Assert.Equal(TimeSpan.FromDays(1), membership.DefunctEntryExpiration);
        Assert.Equal(500, directory.DirectoryCacheSize);
    }

    [Fact]
    public void MembershipOptionsValidator_SeveralInvalidSettings_ReportsEverySettingByName()
    {
        var result = new MembershipOptionsValidator().Validate(null, new MembershipOptions
        {
            ClusterId = " ",
            HeartbeatPeriod = TimeSpan.Zero,
            DeathTimeout = TimeSpan.FromSeconds(-1),
            DefunctEntryExpiration = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        Assert.Equal(
        [
            "Cluster:ClusterId must not be empty.",
            "Cluster:HeartbeatPeriod must be a positive time span (e.g. 00:00:03), not '00:00:00'.",
            "Cluster:DeathTimeout must be a positive time span (e.g. 00:00:03), not '-00:00:01'.",
            "Cluster:DefunctEntryExpiration must be a positive time span (e.g. 00:00:03), not '00:00:00'.",
        ], result.Failures);
    }

    [Fact]
    public void MembershipOptionsValidator_DeathTimeoutBelowTwoHeartbeats_FailsNamingBoth()
    {
        var result = new MembershipOptionsValidator().Validate(null, new MembershipOptions
        {
            HeartbeatPeriod = TimeSpan.FromSeconds(2),
            DeathTimeout = TimeSpan.FromSeconds(3),
        });

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("Cluster:DeathTimeout must be at least twice Cluster:HeartbeatPeriod (00:00:04), not '00:00:03'", failure);
    }

    [Fact]
    public void GrainDirectoryOptionsValidator_ZeroCacheSize_FailsNamingSetting()
    {
        var result = new GrainDirectoryOptionsValidator().Validate(null, new GrainDirectoryOptions { DirectoryCacheSize = 0 });

        Assert.Equal(["Cluster:DirectoryCacheSize must be a positive number of entries, not 0."], result.Failures);
    }
}
