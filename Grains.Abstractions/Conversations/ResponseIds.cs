using System.Security.Cryptography;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// Response ids carry their conversation: <c>resp_</c> + 24 hex digits of the conversation + 24 random hex digits.
/// So any node can route a <c>previous_response_id</c> to its conversation grain without a database lookup; an id that does not
/// parse, or names a turn the conversation does not hold, is simply unknown.
/// </summary>
public static class ResponseIds
{
    private const string ResponsePrefix = "resp_";
    private const string ConversationPrefix = "conv_";
    private const int PartLength = 24;

    /// <summary>A new conversation id (<c>conv_</c> + 24 hex digits).</summary>
    public static string NewConversationId() => ConversationPrefix + RandomHex();

    /// <summary>A new response id inside the given conversation.</summary>
    public static string NewResponseId(string conversationId)
    {
        if (!IsConversationId(conversationId))
        {
            throw new ArgumentException($"'{conversationId}' is not a conversation id.", nameof(conversationId));
        }

        return ResponsePrefix + conversationId[ConversationPrefix.Length..] + RandomHex();
    }

    /// <summary>The conversation a response id belongs to, or false when the id is not one of ours.</summary>
    public static bool TryGetConversationId(string? responseId, out string conversationId)
    {
        conversationId = "";
        if (responseId is null || responseId.Length != ResponsePrefix.Length + 2 * PartLength || !responseId.StartsWith(ResponsePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var body = responseId.AsSpan(ResponsePrefix.Length);
        foreach (var c in body)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        conversationId = ConversationPrefix + body[..PartLength].ToString();
        return true;
    }

    public static bool IsConversationId(string? id) =>
        id is not null && id.Length == ConversationPrefix.Length + PartLength && id.StartsWith(ConversationPrefix, StringComparison.Ordinal)
        && id.AsSpan(ConversationPrefix.Length).ContainsAnyExcept("0123456789abcdef") is false;

    private static string RandomHex() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(PartLength / 2));
}
