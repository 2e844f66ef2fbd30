using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>A new conversation's first Claude turn runs in a process the node started ahead of it (<c>Workers:ClaudeSpares</c>).</summary>
public sealed class ConversationSpareTests(ConversationHostFixture host) : IClassFixture<ConversationHostFixture>
{
    /// <summary>A 1×1 transparent PNG.</summary>
    private const string PngDataUrl = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    private string WorkRoot => Path.Combine(host.DataDirectory, "work");

    [Fact]
    public async Task RunTurn_FirstClaudeTurn_RunsInASpareAndTheConversationMovesToItsDirectory_LaterTurnsResumeThere()
    {
        // Arrange: the node started its spares with the host (Workers:Prewarm).
        var spares = host.Services.GetRequiredService<ClaudeSpares>();
        await spares.FillAsync();
        var sparePids = spares.ProcessIds;
        var spareDirectories = spares.Directories;
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Claude, "spare alpha") with
        {
            Input = [new InputMessage("user", [ContentPart.FromText("spare alpha"), new ContentPart("input_image", ImageUrl: PngDataUrl)])],
        };
        var second = Turns.Request(conversation, Turns.Claude, "spare beta", previousResponseId: first.ResponseId);
        var third = Turns.Request(conversation, Turns.Codex, "codex gamma", previousResponseId: second.ResponseId);

        // Act
        var firstDone = await host.CompleteTurnAsync(first);
        var secondDone = await host.CompleteTurnAsync(second);
        var thirdDone = await host.CompleteTurnAsync(third);

        // Assert
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: spare alpha", firstDone.Text);
        Assert.StartsWith("ECHO turn=2 prior_assistant=1 :: spare beta | history: spare alpha", secondDone.Text);
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: ", thirdDone.Text);
        var directory = Assert.Single(spareDirectories, d => File.Exists(Path.Combine(d, TurnImages.DirectoryName, ImageFileOf(d))));
        Assert.False(Directory.Exists(Path.Combine(WorkRoot, conversation)), "the directory made for the conversation before its first turn is removed");
        var pool = host.Services.GetRequiredService<ClaudeProcessPool>();
        Assert.Contains(sparePids, pid => pool.ProcessIdOf(SessionIn(directory)) == pid);
        // Codex, later in the same conversation, works in the same directory.
        var codexRequest = Assert.Single(host.Stub.Requests, r => r.Conversation.UserTexts.Any(t => t.Contains("codex gamma", StringComparison.Ordinal)));
        Assert.Contains($"<cwd>{directory}</cwd>", codexRequest.Body.GetRawText().Replace("\\/", "/", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunTurn_StatelessClaudeTurn_RunsInTheOneShotSpareAndLeavesNoDirectory()
    {
        var spares = host.Services.GetRequiredService<ClaudeSpares>();
        await spares.FillAsync();
        var spareDirectories = spares.Directories;
        var conversation = ResponseIds.NewConversationId();
        var request = Turns.Request(conversation, Turns.Claude, "stateless spare", store: false) with
        {
            Input = [new InputMessage("user", [ContentPart.FromText("stateless spare"), new ContentPart("input_image", ImageUrl: PngDataUrl)])],
        };

        var done = await host.CompleteTurnAsync(request);

        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: stateless spare", done.Text);
        Assert.False(Directory.Exists(Path.Combine(WorkRoot, conversation)), "a stateless conversation's directory held only its images");
        Assert.Contains(spareDirectories, d => !Directory.Exists(d));
    }

    [Fact]
    public async Task RunTurn_FailedFirstClaudeTurn_LeavesNeitherTheConversationsNorTheSparesDirectory()
    {
        var spares = host.Services.GetRequiredService<ClaudeSpares>();
        await spares.FillAsync();
        var spareDirectories = spares.Directories;
        var conversation = ResponseIds.NewConversationId();
        var request = Turns.Request(conversation, "claude-" + StubModelServer.MagicModels.ServerError, "failing spare") with
        {
            Input = [new InputMessage("user", [ContentPart.FromText("failing spare"), new ContentPart("input_image", ImageUrl: PngDataUrl)])],
        };

        var events = await host.RunTurnAsync(request);

        Turns.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.False(Directory.Exists(Path.Combine(WorkRoot, conversation)), "the directory of a conversation whose first turn failed is removed");
        Assert.Contains(spareDirectories, d => !Directory.Exists(d));
    }

    private static string ImageFileOf(string directory)
    {
        var images = Path.Combine(directory, TurnImages.DirectoryName);
        return Directory.Exists(images) ? Path.GetFileName(Directory.EnumerateFiles(images).FirstOrDefault() ?? "none") : "none";
    }

    /// <summary>The id of the one Claude session made in <paramref name="directory"/>: its transcript is <c>projects/{directory, other than letters and digits → -}/{id}.jsonl</c>.</summary>
    private string SessionIn(string directory)
    {
        var project = Path.Combine(host.Cli.ClaudeConfigDirectory, "projects", Regex.Replace(directory, "[^A-Za-z0-9]", "-"));
        return Path.GetFileNameWithoutExtension(Assert.Single(Directory.EnumerateFiles(project, "*.jsonl")));
    }
}
