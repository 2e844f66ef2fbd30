using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>A throw-away self-signed certificate with its private key, as a PFX file the way <c>Cluster:Tls:CertificatePath</c> takes it.</summary>
public sealed record TestCertificate(string PfxPath, string Password, X509Certificate2 Certificate) : IDisposable
{
    /// <summary>Creates one valid for a day, usable by TLS servers and clients, and writes its PFX into <paramref name="directory"/>.</summary>
    public static TestCertificate Create(string directory, string subject)
    {
        Directory.CreateDirectory(directory);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        var password = Guid.NewGuid().ToString("N");
        var path = Path.Combine(directory, $"{subject}.pfx");
        File.WriteAllBytes(path, created.Export(X509ContentType.Pfx, password));
        return new TestCertificate(path, password, X509CertificateLoader.LoadPkcs12FromFile(path, password));
    }

    public void Dispose() => Certificate.Dispose();
}
