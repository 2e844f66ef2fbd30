using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansCodex.Grains.Storage;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// The append-only turn log of all conversations (table <c>responses</c>). Only a conversation's own activation writes its rows;
/// every status change is a compare-and-swap on <c>status = 'in_progress'</c>, so a turn is finished exactly once.
/// </summary>
public sealed class ConversationStore(Database database, TimeProvider timeProvider)
{
    private const string Columns =
        "id, conversation_id, previous_response_id, model, status, created_at, completed_at, instructions, metadata, input, output_text, usage, error, reasoning_effort, output_format, echo";

    /// <summary>Records a turn as in progress. False when a response with this id already exists.</summary>
    public async Task<bool> InsertAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO responses ({Columns})
            VALUES (@id, @conversation_id, @previous_response_id, @model, @status, @created_at, NULL, @instructions, @metadata, @input, '', NULL, NULL, @reasoning_effort, @output_format, @echo)
            ON CONFLICT (id) DO NOTHING
            """;
        command.AddParameter("id", response.Id);
        command.AddParameter("conversation_id", response.ConversationId);
        command.AddParameter("previous_response_id", response.PreviousResponseId);
        command.AddParameter("model", response.Model);
        command.AddParameter("status", response.Status);
        command.AddParameter("created_at", response.CreatedAt.ToUnixTimeMilliseconds());
        command.AddParameter("instructions", response.Instructions);
        command.AddParameter("metadata", response.Metadata is null ? null : JsonSerializer.Serialize(response.Metadata, StoreJsonContext.Default.IReadOnlyDictionaryStringString));
        command.AddParameter("input", JsonSerializer.Serialize(response.Input, StoreJsonContext.Default.IReadOnlyListInputMessage));
        command.AddParameter("reasoning_effort", response.ReasoningEffort);
        command.AddParameter("output_format", response.OutputFormat is null ? null : JsonSerializer.Serialize(response.OutputFormat, StoreJsonContext.Default.OutputFormat));
        command.AddParameter("echo", response.Echo is null ? null : JsonSerializer.Serialize(response.Echo, StoreJsonContext.Default.ResponseEcho));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Puts a turn that failed because its node went away (<see cref="TurnErrorCodes.NodeUnavailable"/>, nothing produced) back in
    /// progress, so that the same response can run again. False when it is anything else: a turn that produced output or finished
    /// for another reason is never run twice.
    /// </summary>
    public async Task<bool> ReopenInterruptedAsync(string conversationId, string responseId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE responses SET status = 'in_progress', completed_at = NULL, error = NULL
            WHERE id = @id AND conversation_id = @conversation_id AND status = 'failed' AND output_text = '' AND deleted_at IS NULL
              AND error LIKE @node_unavailable
            """;
        command.AddParameter("id", responseId);
        command.AddParameter("conversation_id", conversationId);
        command.AddParameter("node_unavailable", $"%\"{TurnErrorCodes.NodeUnavailable}\"%");
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Finishes an in-progress turn. False when it was already finished (nothing is overwritten).</summary>
    public async Task<bool> CompleteAsync(string responseId, string status, string outputText, TokenUsage? usage, TurnError? error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE responses SET status = @status, completed_at = @completed_at, output_text = @output_text, usage = @usage, error = @error
            WHERE id = @id AND status = 'in_progress'
            """;
        command.AddParameter("id", responseId);
        command.AddParameter("status", status);
        command.AddParameter("completed_at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        command.AddParameter("output_text", outputText);
        command.AddParameter("usage", usage is null ? null : JsonSerializer.Serialize(usage, StoreJsonContext.Default.TokenUsage));
        command.AddParameter("error", error is null ? null : JsonSerializer.Serialize(error, StoreJsonContext.Default.TurnError));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Marks turns left in progress by a previous activation (a crash or restart) as failed.</summary>
    public async Task<int> FailInterruptedAsync(string conversationId, TurnError error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE responses SET status = 'failed', completed_at = @completed_at, error = @error
            WHERE conversation_id = @conversation_id AND status = 'in_progress'
            """;
        command.AddParameter("conversation_id", conversationId);
        command.AddParameter("completed_at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        command.AddParameter("error", JsonSerializer.Serialize(error, StoreJsonContext.Default.TurnError));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Hides a response from reads and continuation. False when it did not exist or was already deleted.</summary>
    public async Task<bool> DeleteAsync(string conversationId, string responseId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE responses SET deleted_at = @deleted_at
            WHERE id = @id AND conversation_id = @conversation_id AND deleted_at IS NULL
            """;
        command.AddParameter("id", responseId);
        command.AddParameter("conversation_id", conversationId);
        command.AddParameter("deleted_at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>One response that is not deleted, or null.</summary>
    public async Task<StoredResponse?> GetAsync(string conversationId, string responseId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM responses WHERE id = @id AND conversation_id = @conversation_id AND deleted_at IS NULL";
        command.AddParameter("id", responseId);
        command.AddParameter("conversation_id", conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// The chain of turns ending at <paramref name="responseId"/>, oldest first, deleted ones included: a deleted turn is hidden from
    /// clients, but the turns built on it keep the history they were answered with.
    /// </summary>
    public async Task<IReadOnlyList<StoredResponse>> GetChainAsync(string conversationId, string responseId, CancellationToken cancellationToken)
    {
        var byId = new Dictionary<string, StoredResponse>(StringComparer.Ordinal);
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT {Columns} FROM responses WHERE conversation_id = @conversation_id";
            command.AddParameter("conversation_id", conversationId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var response = Read(reader);
                byId[response.Id] = response;
            }
        }

        var chain = new List<StoredResponse>();
        for (var id = responseId; id is not null && byId.Remove(id, out var response); id = response.PreviousResponseId)
        {
            chain.Add(response);
        }

        chain.Reverse();
        return chain;
    }

    private static StoredResponse Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        ConversationId = reader.GetString(1),
        PreviousResponseId = reader.IsDBNull(2) ? null : reader.GetString(2),
        Model = reader.GetString(3),
        Status = reader.GetString(4),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        CompletedAt = reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        Instructions = reader.IsDBNull(7) ? null : reader.GetString(7),
        Metadata = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize(reader.GetString(8), StoreJsonContext.Default.IReadOnlyDictionaryStringString),
        Input = JsonSerializer.Deserialize(reader.GetString(9), StoreJsonContext.Default.IReadOnlyListInputMessage) ?? [],
        OutputText = reader.GetString(10),
        Usage = reader.IsDBNull(11) ? null : JsonSerializer.Deserialize(reader.GetString(11), StoreJsonContext.Default.TokenUsage),
        Error = reader.IsDBNull(12) ? null : JsonSerializer.Deserialize(reader.GetString(12), StoreJsonContext.Default.TurnError),
        ReasoningEffort = reader.IsDBNull(13) ? null : reader.GetString(13),
        OutputFormat = reader.IsDBNull(14) ? null : JsonSerializer.Deserialize(reader.GetString(14), StoreJsonContext.Default.OutputFormat),
        Echo = reader.IsDBNull(15) ? null : JsonSerializer.Deserialize(reader.GetString(15), StoreJsonContext.Default.ResponseEcho),
    };
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(IReadOnlyList<InputMessage>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(TokenUsage))]
[JsonSerializable(typeof(TurnError))]
[JsonSerializable(typeof(OutputFormat))]
[JsonSerializable(typeof(ResponseEcho))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
